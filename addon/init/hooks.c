/* createContainer and startContainer hooks, run from inside the container's
 * namespaces as the runtime spec requires: state JSON on stdin, output captured for
 * the error message, SIGKILL when the timeout passes. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pid_t spawn_hook(const struct plan_hook *h, int in_fd, int out_fd, int *pidfd) {
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_PIDFD;
  args.pidfd = (uint64_t)(uintptr_t)pidfd;
  args.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) fail("hook", errno, "start hook %s", h->path);
  if (pid == 0) {
    signal(SIGPIPE, SIG_DFL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(out_fd, 2) < 0) _exit(126);
    execve(h->path, h->argv, h->has_env ? h->envp : environ);
    dprintf(2, "exec %s: %s", h->path, strerror(errno));
    _exit(127);
  }
  return (pid_t)pid;
}

/* Waits for the hook, collecting its output; returns its wait status or -1 on timeout. */
static int wait_hook(int pidfd, int out_fd, uint64_t timeout_s, char *out, size_t *out_len) {
  long deadline = timeout_s ? now_ms() + (long)timeout_s * 1000 : 0;
  int exited = 0;
  while (!exited) {
    struct pollfd fds[2] = {{.fd = pidfd, .events = POLLIN}, {.fd = out_fd, .events = POLLIN}};
    int wait = deadline ? (int)(deadline - now_ms()) : -1;
    if (deadline && wait <= 0) return -1;
    int n = poll(fds, out_fd >= 0 ? 2 : 1, wait);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("hook", errno, "wait for hook");
    if (n == 0) return -1;
    if (fds[1].revents) {
      ssize_t r = read(out_fd, out + *out_len, MAX_HOOK_OUTPUT - 1 - *out_len);
      if (r > 0) *out_len += (size_t)r;
      if (r <= 0 || *out_len >= MAX_HOOK_OUTPUT - 1) out_fd = -1; /* EOF or enough said */
    }
    if (fds[0].revents) exited = 1;
  }
  siginfo_t info;
  memset(&info, 0, sizeof info);
  if (waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED) < 0) fail("hook", errno, "reap hook");
  return info.si_code == CLD_EXITED ? (info.si_status << 8) : info.si_status;
}

static void run_one(const struct plan_hook *h, const char *state, const char *stage, int index) {
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) fail("hook", errno, "pipe for %s hook", stage);
  int pidfd = -1;
  spawn_hook(h, in[0], out[1], &pidfd);
  close(in[0]);
  close(out[1]);
  size_t len = strlen(state);
  for (size_t off = 0; off < len;) {
    ssize_t n = write(in[1], state + off, len - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break; /* the hook need not read its stdin */
    off += (size_t)n;
  }
  close(in[1]);
  char output[MAX_HOOK_OUTPUT];
  size_t out_len = 0;
  int status = wait_hook(pidfd, out[0], h->timeout, output, &out_len);
  output[out_len] = 0;
  while (out_len > 0 && (output[out_len - 1] == '\n' || output[out_len - 1] == ' ')) output[--out_len] = 0;
  if (status == -1) {
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    siginfo_t info;
    waitid(P_PIDFD, (id_t)pidfd, &info, WEXITED);
    fail("hook", ETIMEDOUT, "%s hook #%d (%s) ran past specified timeout of %llus", stage, index, h->path,
         (unsigned long long)h->timeout);
  }
  close(out[0]);
  close(pidfd);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  if (WIFEXITED(status))
    fail("hook", 0, "%s hook #%d (%s) failed with exit status %d%s%s", stage, index, h->path, WEXITSTATUS(status),
         out_len ? ": " : "", output);
  fail("hook", 0, "%s hook #%d (%s) killed by signal %d%s%s", stage, index, h->path, status & 0x7f,
       out_len ? ": " : "", output);
}

void hooks_run(struct plan_hook *hooks, int n, const char *state_json, const char *stage) {
  if (n == 0) return;
  signal(SIGPIPE, SIG_IGN);
  for (int i = 0; i < n; i++) run_one(&hooks[i], state_json, stage, i);
  signal(SIGPIPE, SIG_DFL);
}
