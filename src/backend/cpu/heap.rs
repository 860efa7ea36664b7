//! Keeps the C allocator from returning freed buffers to the system between training steps.
//!
//! Every op returns a fresh buffer (the `Backend` contract), so a step allocates and frees tens
//! of megabytes. glibc gives memory at the top of the heap back to the system once more than
//! its trim threshold is free, and the next step then takes a page fault for every 4 KiB it
//! touches again: a third of the time of a D = 64 step. glibc raises the threshold by itself
//! (mallopt(3), M_MMAP_THRESHOLD: "dynamic mmap threshold") when a block that it served with
//! mmap is freed: the mmap threshold becomes that block's size and the trim threshold twice
//! that, for blocks up to 32 MiB. Allocating and freeing one untouched block just under 32 MiB
//! (it costs no physical memory) therefore sets both to their ceilings (32 and 64 MiB) without
//! any unsafe code. Under other allocators it is a harmless allocate-and-free.

use std::sync::Once;

/// The largest block whose release still moves glibc's thresholds (32 MiB, less two pages for
/// the chunk header and the page rounding).
const PRIMING_BLOCK: usize = (32 << 20) - 8192;

pub(super) fn keep_freed_buffers() {
    static PRIMED: Once = Once::new();
    PRIMED.call_once(|| {
        // black_box: without it the compiler may drop an allocation that is never used.
        drop(std::hint::black_box(Vec::<u8>::with_capacity(
            PRIMING_BLOCK,
        )));
    });
}
