// SHA-1 compression (FIPS 180-4 §6.1.2), portable and with the x86 SHA extensions.
// DEBUG DIGEST hashes every key, field and member of a data set several times, so this is the
// whole cost of a digest; the SHA-NI path is about 4x the portable one (docs/ENGINE.md).
#include "csha1.h"

#include <string.h>

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

/// SHA-1 of 20-byte messages given as five big-endian words each, one block at a time.
static void sha1_digest_lanes_portable(int lanes, uint32_t *const output[], const uint32_t *const input[]) {
    for (int l = 0; l < lanes; l++) {
        uint8_t block[64] = {0};
        for (int i = 0; i < 5; i++) {
            uint32_t word = input[l][i];
            block[4 * i] = (uint8_t)(word >> 24);
            block[4 * i + 1] = (uint8_t)(word >> 16);
            block[4 * i + 2] = (uint8_t)(word >> 8);
            block[4 * i + 3] = (uint8_t)word;
        }
        block[20] = 0x80;
        block[63] = 160;
        uint32_t state[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
        rewind_sha1_compress_portable(state, block, 1);
        for (int i = 0; i < 5; i++) output[l][i] = state[i];
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

// The same rounds for N independent blocks at once, each with its own state: a block's 80 rounds
// are one chain of dependent instructions, so one block at a time leaves most of the SHA unit idle
// (measured on this project's machine: 33 ns a block alone, 18 ns with two lanes, 12 ns with four).
// Each step below is written once per lane, so the compiler interleaves the lanes' chains. Four
// lanes use 28 of the 16 XMM registers the SHA instructions can name, so some values spill; the
// loads and stores of those spills are cheaper than the idle cycles they fill.
#define LANE_GROUP(e, next, mc, mn, mp2, mp3, f)                                                        \
    for (int l = 0; l < LANES; l++) {                                                                   \
        e[l] = _mm_sha1nexte_epu32(e[l], mc[l]);                                                        \
        next[l] = abcd[l];                                                                              \
        mn[l] = _mm_sha1msg2_epu32(mn[l], mc[l]);                                                       \
        abcd[l] = _mm_sha1rnds4_epu32(abcd[l], e[l], f);                                                \
        mp3[l] = _mm_sha1msg1_epu32(mp3[l], mc[l]);                                                     \
        mp2[l] = _mm_xor_si128(mp2[l], mc[l]);                                                          \
    }

// The 80 rounds over lanes 0..LANES-1: abcd/e0 hold each lane's state, m0...m3 its message
// words (already in SHA-1's big-endian order); on exit abcd/e0 hold the new state.
#define SHA1_NI_LANE_ROUNDS()                                                                           \
    for (int l = 0; l < LANES; l++) {                                                                   \
        abcd_save[l] = abcd[l];                                                                         \
        e0_save[l] = e0[l];                                                                             \
        e0[l] = _mm_add_epi32(e0[l], m0[l]);                                                            \
        e1[l] = abcd[l];                                                                                \
        abcd[l] = _mm_sha1rnds4_epu32(abcd[l], e0[l], 0);                                               \
    }                                                                                                   \
    for (int l = 0; l < LANES; l++) {                                                                   \
        e1[l] = _mm_sha1nexte_epu32(e1[l], m1[l]);                                                      \
        e0[l] = abcd[l];                                                                                \
        abcd[l] = _mm_sha1rnds4_epu32(abcd[l], e1[l], 0);                                               \
        m0[l] = _mm_sha1msg1_epu32(m0[l], m1[l]);                                                       \
    }                                                                                                   \
    for (int l = 0; l < LANES; l++) {                                                                   \
        e0[l] = _mm_sha1nexte_epu32(e0[l], m2[l]);                                                      \
        e1[l] = abcd[l];                                                                                \
        abcd[l] = _mm_sha1rnds4_epu32(abcd[l], e0[l], 0);                                               \
        m1[l] = _mm_sha1msg1_epu32(m1[l], m2[l]);                                                       \
        m0[l] = _mm_xor_si128(m0[l], m2[l]);                                                            \
    }                                                                                                   \
    LANE_GROUP(e1, e0, m3, m0, m1, m2, 0) LANE_GROUP(e0, e1, m0, m1, m2, m3, 0)                         \
    LANE_GROUP(e1, e0, m1, m2, m3, m0, 1) LANE_GROUP(e0, e1, m2, m3, m0, m1, 1)                         \
    LANE_GROUP(e1, e0, m3, m0, m1, m2, 1) LANE_GROUP(e0, e1, m0, m1, m2, m3, 1)                         \
    LANE_GROUP(e1, e0, m1, m2, m3, m0, 1) LANE_GROUP(e0, e1, m2, m3, m0, m1, 2)                         \
    LANE_GROUP(e1, e0, m3, m0, m1, m2, 2) LANE_GROUP(e0, e1, m0, m1, m2, m3, 2)                         \
    LANE_GROUP(e1, e0, m1, m2, m3, m0, 2) LANE_GROUP(e0, e1, m2, m3, m0, m1, 2)                         \
    LANE_GROUP(e1, e0, m3, m0, m1, m2, 3) LANE_GROUP(e0, e1, m0, m1, m2, m3, 3)                         \
    LANE_GROUP(e1, e0, m1, m2, m3, m0, 3) LANE_GROUP(e0, e1, m2, m3, m0, m1, 3)                         \
    for (int l = 0; l < LANES; l++) {                                                                   \
        e1[l] = _mm_sha1nexte_epu32(e1[l], m3[l]);                                                      \
        e0[l] = abcd[l];                                                                                \
        abcd[l] = _mm_sha1rnds4_epu32(abcd[l], e1[l], 3);                                               \
        e0[l] = _mm_sha1nexte_epu32(e0[l], e0_save[l]);                                                 \
        abcd[l] = _mm_add_epi32(abcd[l], abcd_save[l]);                                                 \
    }

// One 64-byte block into each lane's state.
#define DEFINE_SHA1_NI_LANES(N, NAME)                                                                   \
    __attribute__((target("sha,ssse3,sse4.1"))) static void NAME(uint32_t *const state[],               \
                                                                 const uint8_t *const block[]) {        \
        enum { LANES = N };                                                                             \
        const __m128i mask = _mm_set_epi64x(0x0001020304050607ULL, 0x08090a0b0c0d0e0fULL);              \
        __m128i abcd[N], e0[N], e1[N], m0[N], m1[N], m2[N], m3[N], abcd_save[N], e0_save[N];            \
        for (int l = 0; l < N; l++) {                                                                   \
            abcd[l] = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)state[l]), 0x1B);              \
            e0[l] = _mm_set_epi32((int)state[l][4], 0, 0, 0);                                           \
            m0[l] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block[l] + 0)), mask);           \
            m1[l] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block[l] + 16)), mask);          \
            m2[l] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block[l] + 32)), mask);          \
            m3[l] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(block[l] + 48)), mask);          \
        }                                                                                               \
        SHA1_NI_LANE_ROUNDS()                                                                           \
        for (int l = 0; l < N; l++) {                                                                   \
            _mm_storeu_si128((__m128i *)state[l], _mm_shuffle_epi32(abcd[l], 0x1B));                   \
            state[l][4] = (uint32_t)_mm_extract_epi32(e0[l], 3);                                        \
        }                                                                                               \
    }

// SHA-1 of a 20-byte message given as five words (big-endian), one per lane, from the initial
// state: the message and its padding (0x80, zeros, 160 bits) are the block's sixteen words, so no
// bytes are written, loaded or swapped.
#define DEFINE_SHA1_NI_DIGEST_LANES(N, NAME)                                                            \
    __attribute__((target("sha,ssse3,sse4.1"))) static void NAME(uint32_t *const output[],              \
                                                                 const uint32_t *const input[]) {       \
        enum { LANES = N };                                                                             \
        __m128i abcd[N], e0[N], e1[N], m0[N], m1[N], m2[N], m3[N], abcd_save[N], e0_save[N];            \
        for (int l = 0; l < N; l++) {                                                                   \
            abcd[l] = _mm_set_epi32((int)0x67452301u, (int)0xEFCDAB89u, (int)0x98BADCFEu, 0x10325476);  \
            e0[l] = _mm_set_epi32((int)0xC3D2E1F0u, 0, 0, 0);                                           \
            const uint32_t *w = input[l];                                                               \
            m0[l] = _mm_set_epi32((int)w[0], (int)w[1], (int)w[2], (int)w[3]);                          \
            m1[l] = _mm_set_epi32((int)w[4], (int)0x80000000u, 0, 0);                                   \
            m2[l] = _mm_setzero_si128();                                                                \
            m3[l] = _mm_set_epi32(0, 0, 0, 160);                                                        \
        }                                                                                               \
        SHA1_NI_LANE_ROUNDS()                                                                           \
        for (int l = 0; l < N; l++) {                                                                   \
            _mm_storeu_si128((__m128i *)output[l], _mm_shuffle_epi32(abcd[l], 0x1B));                  \
            output[l][4] = (uint32_t)_mm_extract_epi32(e0[l], 3);                                       \
        }                                                                                               \
    }

DEFINE_SHA1_NI_LANES(2, sha1_ni_lanes2)
DEFINE_SHA1_NI_LANES(3, sha1_ni_lanes3)
DEFINE_SHA1_NI_LANES(4, sha1_ni_lanes4)
DEFINE_SHA1_NI_DIGEST_LANES(1, sha1_ni_digest_lanes1)
DEFINE_SHA1_NI_DIGEST_LANES(2, sha1_ni_digest_lanes2)
DEFINE_SHA1_NI_DIGEST_LANES(3, sha1_ni_digest_lanes3)
DEFINE_SHA1_NI_DIGEST_LANES(4, sha1_ni_digest_lanes4)

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

void rewind_sha1_compress_lanes(int lanes, uint32_t *const state[], const uint8_t *const block[]) {
    if (rewind_sha1_hardware_available()) {
        switch (lanes) {
        case 4: sha1_ni_lanes4(state, block); return;
        case 3: sha1_ni_lanes3(state, block); return;
        case 2: sha1_ni_lanes2(state, block); return;
        case 1: sha1_ni(state[0], block[0], 1); return;
        default: break;
        }
    }
    for (int l = 0; l < lanes; l++) rewind_sha1_compress_portable(state[l], block[l], 1);
}

void rewind_sha1_digest_lanes(int lanes, uint32_t *const output[], const uint32_t *const input[]) {
    if (rewind_sha1_hardware_available()) {
        switch (lanes) {
        case 4: sha1_ni_digest_lanes4(output, input); return;
        case 3: sha1_ni_digest_lanes3(output, input); return;
        case 2: sha1_ni_digest_lanes2(output, input); return;
        case 1: sha1_ni_digest_lanes1(output, input); return;
        default: break;
        }
    }
    sha1_digest_lanes_portable(lanes, output, input);
}
#else
int rewind_sha1_hardware_available(void) { return 0; }
void rewind_sha1_compress(uint32_t state[5], const uint8_t *blocks, size_t count) {
    rewind_sha1_compress_portable(state, blocks, count);
}
void rewind_sha1_compress_lanes(int lanes, uint32_t *const state[], const uint8_t *const block[]) {
    for (int l = 0; l < lanes; l++) rewind_sha1_compress_portable(state[l], block[l], 1);
}
void rewind_sha1_digest_lanes(int lanes, uint32_t *const output[], const uint32_t *const input[]) {
    sha1_digest_lanes_portable(lanes, output, input);
}
#endif

void rewind_sha1_message(const uint8_t *data, size_t count, uint32_t digest[5]) {
    digest[0] = 0x67452301u; digest[1] = 0xEFCDAB89u; digest[2] = 0x98BADCFEu; digest[3] = 0x10325476u;
    digest[4] = 0xC3D2E1F0u;
    size_t blocks = count / 64;
    if (blocks > 0) rewind_sha1_compress(digest, data, blocks);
    uint8_t tail[128];
    size_t rest = count - blocks * 64;
    if (rest > 0) memcpy(tail, data + blocks * 64, rest);
    tail[rest] = 0x80;
    size_t end = rest < 56 ? 64 : 128;
    memset(tail + rest + 1, 0, end - 8 - rest - 1);
    uint64_t bits = (uint64_t)count * 8;
    for (int i = 0; i < 8; i++) tail[end - 1 - i] = (uint8_t)(bits >> (8 * i));
    rewind_sha1_compress(digest, tail, end / 64);
}
