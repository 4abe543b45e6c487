import CMalloc

/// Allocator settings for processes that stream dumps in 1-16 MiB buffers.
///
/// glibc serves such buffers with mmap or returns them to the kernel when freed, so every new
/// one costs a page fault per 4 KiB, zeroing included (README, "Channel cost"). Raising both
/// thresholds keeps freed buffers for reuse; the process keeps its peak heap instead of
/// shrinking after each job.
package enum AllocatorTuning {
    package static func apply() {
        mallopt(M_MMAP_THRESHOLD, 64 << 20)
        mallopt(M_TRIM_THRESHOLD, 128 << 20)
    }
}
