//! What the user reads: the prototype's text tables, results.json / results.csv, merging result
//! folders, and the progress bar.

pub mod csv;
pub mod fmt;
pub mod json;
pub mod merge;
pub mod progress;
pub mod tensor_table;
pub mod text;
