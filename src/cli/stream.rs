//! Memory for the streaming benchmarks (`bench det`, `benches/geometry.rs`): a batch buffer in
//! transparent huge pages, and the plain read rate of a buffer, the ceiling any kernel that
//! streams it once can reach.
//!
//! Huge pages: this machine's THP mode is `madvise`, so an ordinary `Vec` of 288 MB lives in
//! 70 000 4 KB pages; measured, a plain 2-thread read of it ran at ~26 GB/s in 4 KB pages
//! against ~32 GB/s in 2 MB pages (fewer TLB misses and page walks; the hardware prefetchers
//! stop at 4 KB boundaries). A caller that allocates a large batch for the purpose would do the
//! same; the library itself reads whatever memory it is given.

use std::alloc::{alloc, dealloc, handle_alloc_error, Layout};
use std::ops::{Deref, DerefMut};

use rayon::prelude::*;

use crate::backend::Scalar;

/// 2 MB: the huge page size, and the buffer's alignment.
const HUGE: usize = 1 << 21;

/// `len` zeros of T, 2 MB-aligned, advised for transparent huge pages (`madvise`) before
/// being written once, so that the huge pages are in place before any timing.
pub struct HugeBuf<T> {
    ptr: *mut T,
    len: usize,
    layout: Layout,
}

// SAFETY: HugeBuf owns its allocation like a Vec<T> does.
unsafe impl<T: Send> Send for HugeBuf<T> {}
// SAFETY: shared access only hands out &[T].
unsafe impl<T: Sync> Sync for HugeBuf<T> {}

impl<T: Scalar> HugeBuf<T> {
    pub fn zeros(len: usize) -> Self {
        let bytes = (len * std::mem::size_of::<T>())
            .next_multiple_of(HUGE)
            .max(HUGE);
        let layout = Layout::from_size_align(bytes, HUGE).expect("a valid layout");
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc(layout) }.cast::<T>();
        if ptr.is_null() {
            handle_alloc_error(layout);
        }
        advise_huge(ptr.cast(), bytes);
        // SAFETY: `bytes` ≥ len·size_of::<T>() bytes were allocated, aligned for T; writing
        // zeros initialises them (0 is 0.0 for f32 and f64).
        unsafe { std::ptr::write_bytes(ptr, 0, len) };
        HugeBuf { ptr, len, layout }
    }
}

#[cfg(target_os = "linux")]
fn advise_huge(ptr: *mut libc::c_void, bytes: usize) {
    // SAFETY: the range is one allocation of ours; advice changes no contents. A failure
    // (THP unavailable) only leaves the default pages.
    unsafe { libc::madvise(ptr, bytes, libc::MADV_HUGEPAGE) };
}

#[cfg(not(target_os = "linux"))]
fn advise_huge(_: *mut u8, _: usize) {}

impl<T> Deref for HugeBuf<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised values at `ptr`, owned by self.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T> DerefMut for HugeBuf<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as in `deref`, and &mut self is exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T> Drop for HugeBuf<T> {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeros` with this layout.
        unsafe { dealloc(self.ptr.cast(), self.layout) }
    }
}

/// Reads every byte of `xs` once on all rayon threads (contiguous 1 MB pieces, XOR-folded as
/// 64-bit words: integer work that vectorises and never limits the rate) and returns the fold,
/// to be passed to `black_box`.
pub fn read_all<T: Scalar>(xs: &[T]) -> u64 {
    // SAFETY: f32/f64 have no padding, so their memory is plain initialised bytes.
    let bytes = unsafe { std::slice::from_raw_parts(xs.as_ptr().cast::<u8>(), size_of_val(xs)) };
    bytes
        .par_chunks(1 << 20)
        .map(|piece| {
            let mut lanes = [0u64; 8];
            let mut words = piece.chunks_exact(64);
            for line in &mut words {
                for (lane, w) in lanes.iter_mut().zip(line.chunks_exact(8)) {
                    *lane ^= u64::from_le_bytes(w.try_into().expect("8 bytes"));
                }
            }
            let tail = words.remainder().iter().fold(0, |a, &b| a ^ b as u64);
            lanes.iter().fold(tail, |a, &b| a ^ b)
        })
        .reduce(|| 0, |a, b| a ^ b)
}
