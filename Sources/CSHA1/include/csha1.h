// The SHA-1 compression function for DEBUG DIGEST (RewindEngine/Digest/SHA1.swift). Not API.
#ifndef REWIND_CSHA1_H
#define REWIND_CSHA1_H
#include <stddef.h>
#include <stdint.h>

/// Runs the compression function over `count` 64-byte blocks; picks the fastest path this CPU
/// supports (the x86 SHA extensions when present).
void rewind_sha1_compress(uint32_t state[5], const uint8_t *blocks, size_t count);
/// The portable path, exposed so tests can check both paths on every machine.
void rewind_sha1_compress_portable(uint32_t state[5], const uint8_t *blocks, size_t count);
/// 1 when the SHA extensions path is really used on this CPU.
int rewind_sha1_hardware_available(void);
#endif
