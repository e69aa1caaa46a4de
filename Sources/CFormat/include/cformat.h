// C's number formatting for the engine's replies and digests, without Swift's variadic bridge
// (withVaList boxes each argument and casts it dynamically: it showed in DEBUG DIGEST profiles).
// Not API.
#ifndef REWIND_CFORMAT_H
#define REWIND_CFORMAT_H
#include <stddef.h>

/// snprintf(buffer, size, "%.17g", value): the text Redis 7.0 replies and digests for a score.
int rewind_format_double_17g(double value, char *buffer, size_t size);
#endif
