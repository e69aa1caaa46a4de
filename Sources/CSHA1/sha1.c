// SHA-1 compression (FIPS 180-4 §6.1.2), portable and with the x86 SHA extensions.
// DEBUG DIGEST hashes every key, field and member of a data set several times, so this is the
// whole cost of a digest; the SHA-NI path is about 4x the portable one (docs/ENGINE.md).
#include "csha1.h"

static inline uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

void rewind_sha1_compress_portable(uint32_t state[5], const uint8_t *data, size_t count) {
    while (count-- > 0) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++) {
            w[i] = (uint32_t)data[4 * i] << 24 | (uint32_t)data[4 * i + 1] << 16 | (uint32_t)data[4 * i + 2] << 8 |
                   (uint32_t)data[4 * i + 3];
        }
        for (int i = 16; i < 80; i++) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = state[0], b = state[1], c = state[2], d = state[3], e = state[4];
#define STEP(f, k, i)                                          \
    do {                                                       \
        uint32_t t = rotl(a, 5) + (f) + e + (k) + w[i];        \
        e = d; d = c; c = rotl(b, 30); b = a; a = t;           \
    } while (0)
        for (int i = 0; i < 20; i++) STEP((b & c) | (~b & d), 0x5A827999u, i);
        for (int i = 20; i < 40; i++) STEP(b ^ c ^ d, 0x6ED9EBA1u, i);
        for (int i = 40; i < 60; i++) STEP((b & c) | (b & d) | (c & d), 0x8F1BBCDCu, i);
        for (int i = 60; i < 80; i++) STEP(b ^ c ^ d, 0xCA62C1D6u, i);
#undef STEP
        state[0] += a; state[1] += b; state[2] += c; state[3] += d; state[4] += e;
        data += 64;
    }
}

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

// Four rounds with the SHA extensions: `e` holds E for these rounds, `next` receives ABCD for the
// next four; m[g % 4] is this group's schedule, the others are advanced as Intel's reference does.
#define GROUP(e, next, mc, mn, mp2, mp3, f)          \
    e = _mm_sha1nexte_epu32(e, mc);                  \
    next = abcd;                                     \
    mn = _mm_sha1msg2_epu32(mn, mc);                 \
    abcd = _mm_sha1rnds4_epu32(abcd, e, f);          \
    mp3 = _mm_sha1msg1_epu32(mp3, mc);               \
    mp2 = _mm_xor_si128(mp2, mc);

__attribute__((target("sha,ssse3,sse4.1")))
static void sha1_ni(uint32_t state[5], const uint8_t *data, size_t count) {
    const __m128i mask = _mm_set_epi64x(0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL);
    __m128i abcd = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)state), 0x1B);
    __m128i e0 = _mm_set_epi32((int)state[4], 0, 0, 0);
    while (count-- > 0) {
        __m128i abcd_save = abcd, e0_save = e0, e1;
        __m128i m0 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 0)), mask);
        __m128i m1 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16)), mask);
        __m128i m2 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 32)), mask);
        __m128i m3 = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 48)), mask);
        // Rounds 0-3.
        e0 = _mm_add_epi32(e0, m0);
        e1 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
        // Rounds 4-7.
        e1 = _mm_sha1nexte_epu32(e1, m1);
        e0 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e1, 0);
        m0 = _mm_sha1msg1_epu32(m0, m1);
        // Rounds 8-11.
        e0 = _mm_sha1nexte_epu32(e0, m2);
        e1 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e0, 0);
        m1 = _mm_sha1msg1_epu32(m1, m2);
        m0 = _mm_xor_si128(m0, m2);
        // Rounds 12-79, four at a time.
        GROUP(e1, e0, m3, m0, m1, m2, 0)   // 12-15
        GROUP(e0, e1, m0, m1, m2, m3, 0)   // 16-19
        GROUP(e1, e0, m1, m2, m3, m0, 1)   // 20-23
        GROUP(e0, e1, m2, m3, m0, m1, 1)   // 24-27
        GROUP(e1, e0, m3, m0, m1, m2, 1)   // 28-31
        GROUP(e0, e1, m0, m1, m2, m3, 1)   // 32-35
        GROUP(e1, e0, m1, m2, m3, m0, 1)   // 36-39
        GROUP(e0, e1, m2, m3, m0, m1, 2)   // 40-43
        GROUP(e1, e0, m3, m0, m1, m2, 2)   // 44-47
        GROUP(e0, e1, m0, m1, m2, m3, 2)   // 48-51
        GROUP(e1, e0, m1, m2, m3, m0, 2)   // 52-55
        GROUP(e0, e1, m2, m3, m0, m1, 2)   // 56-59
        GROUP(e1, e0, m3, m0, m1, m2, 3)   // 60-63
        GROUP(e0, e1, m0, m1, m2, m3, 3)   // 64-67
        GROUP(e1, e0, m1, m2, m3, m0, 3)   // 68-71
        GROUP(e0, e1, m2, m3, m0, m1, 3)   // 72-75
        // Rounds 76-79.
        e1 = _mm_sha1nexte_epu32(e1, m3);
        e0 = abcd;
        abcd = _mm_sha1rnds4_epu32(abcd, e1, 3);
        // Add this block's result.
        e0 = _mm_sha1nexte_epu32(e0, e0_save);
        abcd = _mm_add_epi32(abcd, abcd_save);
        data += 64;
    }
    _mm_storeu_si128((__m128i *)state, _mm_shuffle_epi32(abcd, 0x1B));
    state[4] = (uint32_t)_mm_extract_epi32(e0, 3);
}

static int hardware_state = -1;  // -1 unknown, 0 no, 1 yes

int rewind_sha1_hardware_available(void) {
    int state = __atomic_load_n(&hardware_state, __ATOMIC_RELAXED);
    if (state < 0) {
        unsigned a = 0, b = 0, c = 0, d = 0;
        int sse = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSSE3) && (c & bit_SSE4_1);
        int sha = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29));
        state = sse && sha ? 1 : 0;
        __atomic_store_n(&hardware_state, state, __ATOMIC_RELAXED);
    }
    return state;
}

void rewind_sha1_compress(uint32_t state[5], const uint8_t *blocks, size_t count) {
    if (rewind_sha1_hardware_available()) sha1_ni(state, blocks, count);
    else rewind_sha1_compress_portable(state, blocks, count);
}
#else
int rewind_sha1_hardware_available(void) { return 0; }
void rewind_sha1_compress(uint32_t state[5], const uint8_t *blocks, size_t count) {
    rewind_sha1_compress_portable(state, blocks, count);
}
#endif
