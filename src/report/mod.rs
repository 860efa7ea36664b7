//! What the user reads: the prototype's text tables, results.json / results.csv, merging result
//! folders, the progress bar, and the figures (SVG, report.html).

pub mod csv;
pub mod figures;
pub mod fmt;
pub mod json;
pub mod merge;
pub mod progress;
pub mod rows;
pub mod tensor_table;
pub mod text;
pub mod timings;
