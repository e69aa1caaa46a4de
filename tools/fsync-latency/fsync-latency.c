// How long a small write plus fdatasync takes when the write grows the file, and when it overwrites
// zeros written (and synced) beforehand: the reason a log writer under `always` preallocates
// (docs/FORMAT.md, "Preallocation").
//
//   cc -O2 -o /tmp/fsync-latency tools/fsync-latency/fsync-latency.c && /tmp/fsync-latency [DIR]
//
// DIR defaults to /tmp; use the file system the log lives on.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double microseconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

// Writes `count` records of `size` bytes one after another, each followed by fdatasync; returns
// the mean microseconds per record.
static double run(const char *path, int preallocated, int count, int size) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) { perror(path); exit(1); }
    char *record = malloc(size);
    memset(record, 'x', size);
    if (preallocated) {
        static char zeros[65536];
        long total = (long)count * size + sizeof zeros;
        for (long written = 0; written < total; written += sizeof zeros) {
            if (write(fd, zeros, sizeof zeros) != (ssize_t)sizeof zeros) { perror("write"); exit(1); }
        }
        fdatasync(fd);
    }
    double start = microseconds();
    for (int i = 0; i < count; i++) {
        if (pwrite(fd, record, size, (off_t)i * size) != size) { perror("pwrite"); exit(1); }
        fdatasync(fd);
    }
    double mean = (microseconds() - start) / count;
    close(fd);
    unlink(path);
    free(record);
    return mean;
}

int main(int argc, char **argv) {
    char path[4096];
    snprintf(path, sizeof path, "%s/fsync-latency.%d", argc > 1 ? argv[1] : "/tmp", (int)getpid());
    for (int round = 0; round < 3; round++) {
        double growing = run(path, 0, 2000, 300);
        double overwriting = run(path, 1, 2000, 300);
        printf("300-byte write + fdatasync: appending %.1f us, over preallocated zeros %.1f us (%.2fx)\n",
               growing, overwriting, overwriting / growing);
    }
    return 0;
}
