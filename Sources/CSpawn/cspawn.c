#define _GNU_SOURCE
#include "cspawn.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int rewind_spawn(const char *path, char *const argv[], char *const envp[],
                 int stdin_fd, int stdout_fd, int stderr_fd, int new_process_group, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return result;
    }
    int sources[3] = {stdin_fd, stdout_fd, stderr_fd};
    for (int target = 0; target < 3 && result == 0; target++) {
        // Same descriptor: inherited as is (dup2 onto itself would be a no-op).
        if (sources[target] != target) result = posix_spawn_file_actions_adddup2(&actions, sources[target], target);
    }
    // Everything else closes in the child, at exec time: no race with descriptors other threads
    // open meanwhile (Foundation's Process lists them first, and can leak or fail with EBADF).
    if (result == 0) result = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (new_process_group) flags |= POSIX_SPAWN_SETPGROUP;
    if (result == 0) result = posix_spawnattr_setsigmask(&attributes, &none);
    if (result == 0) result = posix_spawnattr_setsigdefault(&attributes, &all);
    if (result == 0 && new_process_group) result = posix_spawnattr_setpgroup(&attributes, 0);
    if (result == 0) result = posix_spawnattr_setflags(&attributes, flags);
    if (result == 0) result = posix_spawn(pid, path, &actions, &attributes, argv, envp ? envp : environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result;
}

int rewind_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int rewind_wait_child(pid_t pid, int blocking, int *exit_code, int *signal) {
    int status = 0;
    pid_t got;
    do {
        got = waitpid(pid, &status, blocking ? 0 : WNOHANG);
    } while (got < 0 && errno == EINTR);
    if (got < 0) return -1;
    if (got == 0) return 0;
    if (WIFEXITED(status)) {
        *exit_code = WEXITSTATUS(status);
        *signal = 0;
    } else {
        *exit_code = -1;
        *signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    }
    return 1;
}
