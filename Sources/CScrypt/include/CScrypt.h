#ifndef ZENTORIA_CSCRYPT_H
#define ZENTORIA_CSCRYPT_H

#include <stddef.h>
#include <stdint.h>

/// scrypt's ROMix (RFC 7914 §5) over each of the `p` blocks of 128·r bytes in `blocks`, in
/// place. `n` is a power of two ≥ 2. The 128·r·n-byte table is mapped for the call and
/// unmapped after; on Linux it asks for transparent huge pages, which saves a page fault per
/// 4 KiB and most TLB misses of the random reads. Returns 0, or -1 when the table cannot be
/// mapped (errno is set).
int zentoria_scrypt_romix(uint8_t *blocks, size_t r, uint64_t n, uint32_t p);

#endif
