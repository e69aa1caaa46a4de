#include "cformat.h"
#include <stdio.h>

int rewind_format_double_17g(double value, char *buffer, size_t size) {
    return snprintf(buffer, size, "%.17g", value);
}
