// Atomic words and Linux futexes for the log writer's progress notifier, and the engine's
// ownership stamps (Keyspace.fork). Not API.
#ifndef REWIND_CFUTEX_H
#define REWIND_CFUTEX_H
#include <stdint.h>

static inline uint64_t rewind_atomic_load_u64(const uint64_t *word) { return __atomic_load_n(word, __ATOMIC_ACQUIRE); }
static inline void rewind_atomic_store_u64(uint64_t *word, uint64_t value) { __atomic_store_n(word, value, __ATOMIC_RELEASE); }
static inline uint64_t rewind_atomic_increment_u64(uint64_t *word) { return __atomic_add_fetch(word, 1, __ATOMIC_ACQ_REL); }
/// Sequentially consistent: for the waiter count a publisher reads to skip the wake-up call.
static inline uint32_t rewind_atomic_add_u32_sc(uint32_t *word, int32_t delta) { return __atomic_add_fetch(word, (uint32_t)delta, __ATOMIC_SEQ_CST); }
static inline uint32_t rewind_atomic_load_u32_sc(const uint32_t *word) { return __atomic_load_n(word, __ATOMIC_SEQ_CST); }

/// Asks the CPU to start loading the cache line at `address` (the engine's lookahead during replay).
static inline void rewind_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Sleeps while `*word == expected` (or until a wake-up or a spurious return).
void rewind_futex_wait(uint32_t *word, uint32_t expected);
/// Wakes every thread sleeping on `word`.
void rewind_futex_wake_all(uint32_t *word);
#endif
