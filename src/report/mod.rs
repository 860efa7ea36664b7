//! (room filled by its issue)

pub mod figures;
