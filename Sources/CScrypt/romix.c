// scrypt's ROMix with Salsa20/8 on 4-lane vectors (RFC 7914). The words of every 64-byte
// block are kept in diagonal order, (0 5 10 15)(4 9 14 3)(8 13 2 7)(12 1 6 11), so a column
// round works on whole vectors and a row round needs one lane rotation per vector. The
// output equals the reference implementation's (tests compare against BoringSSL's scrypt).

#include "CScrypt.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

typedef uint32_t lanes __attribute__((vector_size(16), aligned(16)));

static inline lanes rotate(lanes v, int n) { return (v << n) | (v >> (32 - n)); }

// One Salsa20 round on four lane vectors: the column round on (a, b, c, d); called with b and
// d swapped (after rotating their lanes) the same steps are the row round.
static inline void round4(lanes *a, lanes *b, lanes *c, lanes *d) {
    *b ^= rotate(*a + *d, 7);
    *c ^= rotate(*b + *a, 9);
    *d ^= rotate(*c + *b, 13);
    *a ^= rotate(*d + *c, 18);
}

// x = Salsa20/8(x ^ in).
static inline void salsa20_8(lanes *restrict x, const lanes *restrict in) {
    lanes a = x[0] ^ in[0], b = x[1] ^ in[1], c = x[2] ^ in[2], d = x[3] ^ in[3];
    const lanes a0 = a, b0 = b, c0 = c, d0 = d;
    for (int i = 0; i < 4; i++) {
        // Column round: a = (x0 x5 x10 x15), b = (x4 x9 x14 x3), c = (x8 x13 x2 x7),
        // d = (x12 x1 x6 x11).
        round4(&a, &b, &c, &d);
        // Row round: b = (x3 x4 x9 x14), c = (x2 x7 x8 x13), d = (x1 x6 x11 x12).
        b = __builtin_shufflevector(b, b, 3, 0, 1, 2);
        c = __builtin_shufflevector(c, c, 2, 3, 0, 1);
        d = __builtin_shufflevector(d, d, 1, 2, 3, 0);
        round4(&a, &d, &c, &b);
        b = __builtin_shufflevector(b, b, 1, 2, 3, 0);
        c = __builtin_shufflevector(c, c, 2, 3, 0, 1);
        d = __builtin_shufflevector(d, d, 3, 0, 1, 2);
    }
    x[0] = a + a0;
    x[1] = b + b0;
    x[2] = c + c0;
    x[3] = d + d0;
}

// out = BlockMix(in ^ mask) over 2r blocks of 4 vectors; `mask` may be NULL.
static void block_mix(
    lanes *restrict out, const lanes *restrict in, const lanes *restrict mask, size_t r) {
    lanes x[4];
    const size_t last = (2 * r - 1) * 4;
    for (int k = 0; k < 4; k++) x[k] = mask ? in[last + k] ^ mask[last + k] : in[last + k];
    for (size_t i = 0; i < 2 * r; i++) {
        lanes t[4];
        for (int k = 0; k < 4; k++) t[k] = mask ? in[i * 4 + k] ^ mask[i * 4 + k] : in[i * 4 + k];
        salsa20_8(x, t);
        // Even blocks go to the first half of the output, odd ones to the second.
        lanes *to = out + ((i & 1) * r + i / 2) * 4;
        for (int k = 0; k < 4; k++) to[k] = x[k];
    }
}

static const int diagonal[16] = {0, 5, 10, 15, 4, 9, 14, 3, 8, 13, 2, 7, 12, 1, 6, 11};

static inline uint32_t load32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void store32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

// Integerify(x) mod n: the first word of the last 64-byte block (word 0 stays in place).
static inline uint64_t integerify(const lanes *x, size_t r, uint64_t n) {
    return x[(2 * r - 1) * 4][0] & (n - 1);
}

// Zeroes scratch state; the volatile stores are not optimised away (portable explicit_bzero).
static void wipe(void *bytes, size_t count) {
    volatile uint8_t *p = bytes;
    while (count--) *p++ = 0;
}

static void romix(uint8_t *block, size_t r, uint64_t n, lanes *v, lanes *x, lanes *y) {
    const size_t vectors = 8 * r;
    uint32_t *words = (uint32_t *)x;
    for (size_t b = 0; b < 2 * r; b++)
        for (int k = 0; k < 16; k++) words[b * 16 + k] = load32(block + b * 64 + diagonal[k] * 4);
    for (uint64_t i = 0; i < n; i += 2) {
        memcpy(v + i * vectors, x, vectors * sizeof(lanes));
        block_mix(y, x, NULL, r);
        memcpy(v + (i + 1) * vectors, y, vectors * sizeof(lanes));
        block_mix(x, y, NULL, r);
    }
    for (uint64_t i = 0; i < n; i += 2) {
        block_mix(y, x, v + integerify(x, r, n) * vectors, r);
        block_mix(x, y, v + integerify(y, r, n) * vectors, r);
    }
    for (size_t b = 0; b < 2 * r; b++)
        for (int k = 0; k < 16; k++) store32(block + b * 64 + diagonal[k] * 4, words[b * 16 + k]);
}

int zentoria_scrypt_romix(uint8_t *blocks, size_t r, uint64_t n, uint32_t p) {
    if (r == 0 || n < 2 || (n & (n - 1)) != 0 || n > SIZE_MAX / 256 / r) {
        errno = EINVAL;
        return -1;
    }
    const size_t huge = 2u << 20;
    const size_t table = 128 * r * (size_t)n;
    const size_t scratch = 256 * r;
    const size_t length = table + scratch + huge;
    void *mapping = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping == MAP_FAILED) return -1;
    uint8_t *aligned = (uint8_t *)(((uintptr_t)mapping + huge - 1) & ~(uintptr_t)(huge - 1));
#ifdef MADV_HUGEPAGE
    (void)madvise(aligned, table, MADV_HUGEPAGE);
#endif
    lanes *v = (lanes *)aligned;
    lanes *x = (lanes *)(aligned + table);
    lanes *y = x + 8 * r;
    for (uint32_t i = 0; i < p; i++) romix(blocks + (size_t)i * 128 * r, r, n, v, x, y);
    wipe(x, scratch);
    munmap(mapping, length);
    return 0;
}
