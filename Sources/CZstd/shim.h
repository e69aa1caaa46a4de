#ifndef REWIND_CZSTD_SHIM_H
#define REWIND_CZSTD_SHIM_H
#define ZDICT_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zdict.h>
#endif
