//! What a CV needs to be read: its sampling uncertainty (`bootstrap`), what random matrices of
//! the same shape give (`null`), and the mean and spread over seeds with the band rule
//! (`aggregate`). Field meanings and how to read z: docs/stats.md.

pub mod aggregate;
pub mod bootstrap;
pub mod null;
