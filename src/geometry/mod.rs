//! The Cayley–Menger core, independent of training: the batched 6×6 determinant (`det6`),
//! squared volumes of 4-simplices from points or from row indices (`cayley_menger`), the
//! sampling of 5-row subsets (`sampler`) and the CV statistic (`cv`).
//!
//! The determinant kernels run several matrices per SIMD instruction (`kernel`, `simd`),
//! chosen at run time; every kernel gives bit-identical results.

mod acc8;
pub mod cayley_menger;
pub mod cv;
pub mod det6;
mod distance;
pub mod kernel;
mod prefetch;
pub mod sampler;
mod simd;
mod sqdist_table;
mod tuples;

pub use kernel::Kernel;
