//! What every fuzz target links: a global allocator that turns any single
//! allocation of 1 MiB or more into an abort, which libFuzzer reports as a
//! crash and saves the input for.
//!
//! libFuzzer's own `-malloc_limit_mb` needs a sanitizer's malloc hooks; this
//! enforces the same rule without one, so the targets can run uninstrumented
//! by AddressSanitizer (safe Rust gains little from it) at several times the
//! speed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Write;

/// The largest single allocation a target may make: anything at or above
/// this is a finding for inputs of at most 64 KiB.
pub const ALLOCATION_LIMIT: usize = 1 << 20;

/// The system allocator, refusing allocations of [`ALLOCATION_LIMIT`] or more
/// by aborting the process.
pub struct CappedAllocator;

impl CappedAllocator {
    fn check(size: usize) {
        if size >= ALLOCATION_LIMIT {
            // No formatting: it could allocate, and this must not recurse.
            let _ = std::io::stderr()
                .write_all(b"==titan-webhooks-fuzz== allocation of 1 MiB or more\n");
            std::process::abort();
        }
    }
}

// SAFETY: every method forwards to `System` unchanged after a size check that
// never allocates; the layouts and pointers are the caller's, as received.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CappedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::check(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::check(new_size);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CappedAllocator = CappedAllocator;
