#include "crc32c.h"
uint32_t rewind_crc32c_extend(uint32_t crc, const uint8_t *data, size_t length) { (void)data; (void)length; return crc; }
