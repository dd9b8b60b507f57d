#ifndef KP_ALLOCATOR_TUNING_H
#define KP_ALLOCATOR_TUNING_H

/// Keeps buffers up to `mmap_threshold` bytes on the heap and lets up to `trim_threshold`
/// bytes of freed memory stay there (glibc's mallopt); a no-op elsewhere. Returns 1 when applied.
int kp_tune_allocator(int mmap_threshold, int trim_threshold);

#endif
