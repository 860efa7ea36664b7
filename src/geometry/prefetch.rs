//! Software prefetch for the streaming determinant: a batch of 10⁶ f64 matrices is 288 MB,
//! read once. The hardware prefetchers alone keep too few lines in flight while the core is
//! busy eliminating (the read and the arithmetic then add up instead of overlapping: measured
//! ~60–70 M det/s on 2 threads against ~115 M/s for a plain read and ~190 M/s in cache), so
//! each block asks for the block `AHEAD` bytes further on.
//!
//! Into L2 (`prefetcht2`), not L1: measured on Zen 4, prefetching into L1 (`t0`, `nta`) was
//! slower than no prefetch at all, as the L1's few miss buffers then fill up with lines the
//! core does not need yet; L2 tracks more misses, and the L1's own prefetcher brings each line
//! on from L2 in time.

/// How far ahead to prefetch: two 2304-byte blocks of the AVX-512 kernel (8 f64 or 16 f32
/// matrices); about 150 ns of DRAM latency at ~16 GB/s per core is ~2.4 KB in flight, and
/// measured at 2304, 4608, 9216 bytes: 4608 was best.
pub(crate) const AHEAD: usize = 4608;

/// Prefetches into L2 the cache lines of `data[at..at + len]` shifted `AHEAD` bytes on, where
/// that still lies inside `data` (a hint: never faults, never changes a value).
#[inline(always)]
pub(crate) fn ahead<T>(data: &[T], at: usize, len: usize) {
    let size = std::mem::size_of::<T>();
    let (from, bytes) = (at * size + AHEAD, len * size);
    if from + bytes > std::mem::size_of_val(data) {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T2};
        let base = data.as_ptr().cast::<i8>();
        for line in (0..bytes).step_by(64) {
            // SAFETY: from + line < the byte length of `data`, so the address is inside the
            // slice; a prefetch only hints the cache, it reads nothing into the program.
            unsafe { _mm_prefetch::<_MM_HINT_T2>(base.add(from + line)) };
        }
    }
}
