#include "cfutex.h"
#if defined(__linux__)
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

void rewind_futex_wait(uint32_t *word, uint32_t expected) {
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

void rewind_futex_wake_all(uint32_t *word) {
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}
#else
#include <sched.h>
// Elsewhere: yield and let the caller poll; correct, if slower.
void rewind_futex_wait(uint32_t *word, uint32_t expected) { (void)word; (void)expected; sched_yield(); }
void rewind_futex_wake_all(uint32_t *word) { (void)word; }
#endif
