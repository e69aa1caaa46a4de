// posix_spawn for child processes that start clean: no descriptor but 0, 1 and 2 (closed in the
// child at exec, so no other thread's descriptors leak in, whenever they were opened), no blocked
// signals, every signal at its default action. Not API.
#ifndef REWIND_CSPAWN_H
#define REWIND_CSPAWN_H
#include <sys/types.h>

/// Starts `path` with `argv` and `envp` (NULL for this process's environment). `stdin_fd`,
/// `stdout_fd` and `stderr_fd` become the child's 0, 1 and 2. With `new_process_group` the child
/// leads a process group of its own. Returns 0 and sets `*pid`, or an errno value.
int rewind_spawn(const char *path, char *const argv[], char *const envp[],
                 int stdin_fd, int stdout_fd, int stderr_fd, int new_process_group, pid_t *pid);

/// pipe2 with O_CLOEXEC: both ends close in every child unless dup2'd onto 0, 1 or 2.
int rewind_pipe_cloexec(int fds[2]);

/// waitpid on one child: 1 with `*exit_code` (>= 0) or `*signal` (> 0) set when it ended, 0 when it
/// is still running (`blocking` 0), -1 with errno otherwise. EINTR is retried.
int rewind_wait_child(pid_t pid, int blocking, int *exit_code, int *signal);
#endif
