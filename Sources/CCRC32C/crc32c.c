// CRC32C: polynomial 0x1EDC6F41 (reflected 0x82F63B78), as RFC 3720 §B.4 and LevelDB use it.
// Two paths: slicing-by-8 tables for any CPU, and the SSE4.2 `crc32` instruction on x86_64,
// chosen once at run time so one binary runs everywhere.
#include "crc32c.h"
#include <string.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static int table_ready = 0;

static void build_tables(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = n;
        for (int k = 0; k < 8; k++) crc = (crc & 1) ? (crc >> 1) ^ POLY : crc >> 1;
        table[0][n] = crc;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t crc = table[0][n];
        for (int k = 1; k < 8; k++) {
            crc = table[0][crc & 0xff] ^ (crc >> 8);
            table[k][n] = crc;
        }
    }
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t rewind_crc32c_extend_portable(uint32_t crc, const uint8_t *data, size_t length) {
    // Building the tables twice from two threads is harmless: both write the same values.
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) build_tables();
    uint32_t c = ~crc;
    while (length > 0 && ((uintptr_t)data & 7) != 0) {
        c = table[0][(c ^ *data++) & 0xff] ^ (c >> 8);
        length--;
    }
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        word = __builtin_bswap64(word);
#endif
        uint32_t lo = (uint32_t)word ^ c;
        uint32_t hi = (uint32_t)(word >> 32);
        c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
            table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
            table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        data += 8;
        length -= 8;
    }
    while (length-- > 0) c = table[0][(c ^ *data++) & 0xff] ^ (c >> 8);
    return ~c;
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const uint8_t *data, size_t length) {
    uint64_t c = ~crc;
    while (length > 0 && ((uintptr_t)data & 7) != 0) {
        c = _mm_crc32_u8((uint32_t)c, *data++);
        length--;
    }
    // Three independent streams would hide the instruction's 3-cycle latency; one stream already
    // runs at several GB/s, far above what zstd decompression feeds it, so keep it simple.
    while (length >= 8) {
        uint64_t word;
        memcpy(&word, data, 8);
        c = _mm_crc32_u64(c, word);
        data += 8;
        length -= 8;
    }
    while (length-- > 0) c = _mm_crc32_u8((uint32_t)c, *data++);
    return ~(uint32_t)c;
}

static int hardware_state = -1;  // -1 unknown, 0 no, 1 yes

int rewind_crc32c_hardware_available(void) {
    int state = __atomic_load_n(&hardware_state, __ATOMIC_RELAXED);
    if (state < 0) {
        __builtin_cpu_init();
        state = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&hardware_state, state, __ATOMIC_RELAXED);
    }
    return state;
}

uint32_t rewind_crc32c_extend_hardware(uint32_t crc, const uint8_t *data, size_t length) {
    if (rewind_crc32c_hardware_available()) return crc32c_sse42(crc, data, length);
    return rewind_crc32c_extend_portable(crc, data, length);
}
#else
int rewind_crc32c_hardware_available(void) { return 0; }
uint32_t rewind_crc32c_extend_hardware(uint32_t crc, const uint8_t *data, size_t length) {
    return rewind_crc32c_extend_portable(crc, data, length);
}
#endif

uint32_t rewind_crc32c_extend(uint32_t crc, const uint8_t *data, size_t length) {
    return rewind_crc32c_extend_hardware(crc, data, length);
}
