// CRC32C (Castagnoli), the checksum of every Rewind log record. See docs/FORMAT.md.
// Not API: RewindLog wraps it.
#ifndef REWIND_CRC32C_H
#define REWIND_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/// Extends `crc` (0 to start) with `length` bytes; picks the fastest path this CPU supports.
uint32_t rewind_crc32c_extend(uint32_t crc, const uint8_t *data, size_t length);
/// The portable table-driven path, exposed so tests can check both paths on every machine.
uint32_t rewind_crc32c_extend_portable(uint32_t crc, const uint8_t *data, size_t length);
/// The hardware path (SSE4.2 `crc32`); returns the portable result where the CPU lacks it.
uint32_t rewind_crc32c_extend_hardware(uint32_t crc, const uint8_t *data, size_t length);
/// 1 when the hardware path is really used on this CPU.
int rewind_crc32c_hardware_available(void);
#endif
