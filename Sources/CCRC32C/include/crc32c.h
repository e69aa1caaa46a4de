#ifndef REWIND_CRC32C_H
#define REWIND_CRC32C_H
#include <stddef.h>
#include <stdint.h>
uint32_t rewind_crc32c_extend(uint32_t crc, const uint8_t *data, size_t length);
#endif
