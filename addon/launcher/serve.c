/*
 * `start` with no live group shim, done natively as shim/cli/start.ts does it, so
 * that the first container of a group boots Node once (the server) instead of twice
 * (start, then the server): bind the group's socket (mode 0600), hand it to a new
 * server process as fd 3 in its own session with stdio on /dev/null (containerd waits
 * for EOF on start's stdout and stderr), read and drop the runtime options on stdin,
 * write <bundle>/address and print it. Any failure before the server is spawned goes
 * to the JS shim.
 */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* mkdir -p with mode 0700 for what it creates. */
static int make_dirs(const char *dir) {
  char buf[PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) return -1;
  for (char *p = buf + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (mkdir(buf, 0700) < 0 && errno != EEXIST) return -1;
      if (!c) break;
      *p = c;
    }
  }
  return 0;
}

/* A listening socket bound at path with mode 0600 (not close-on-exec: the server inherits it), or -1 with errno. */
static int listen_at(const char *path) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    errno = ENAMETOOLONG;
    return -1;
  }
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  mode_t old = umask(0177);
  int rc = bind(fd, (struct sockaddr *)&addr, sizeof addr);
  int err = errno;
  umask(old);
  if (rc < 0 || listen(fd, SOMAXCONN) < 0) {
    if (rc == 0) err = errno, unlink(path);
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

/* Runtime options (a protobuf Any) may come on stdin: read them so the writer never sees EPIPE; never wait long. */
static void drain_stdin(void) {
  struct stat st;
  if (fstat(0, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISREG(st.st_mode) || S_ISSOCK(st.st_mode))) return;
  char buf[16384];
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long left = 2000 - ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000);
    if (left <= 0) return;
    struct pollfd p = {.fd = 0, .events = POLLIN};
    int r = poll(&p, 1, (int)left);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return;
    ssize_t n = read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
  }
}

/* Forks the server: own session, fd 3 = the socket, stdio /dev/null, HUTCH_SHIM_LISTEN_FD=3. 0 once it runs (exec'd), else -1. */
static int spawn_server(const struct shim_flags *f, const char *socket_path, int listen_fd) {
  char main_js[PATH_MAX];
  if (js_main(main_js, sizeof main_js) < 0) return -1;
  const char *node = node_binary();
  const char *extra[16], *args[20];
  int n = 0;
  extra[n++] = "-namespace", extra[n++] = f->namespace;
  extra[n++] = "-address", extra[n++] = f->address;
  extra[n++] = "-publish-binary", extra[n++] = f->publish_binary;
  extra[n++] = "-id", extra[n++] = f->id;
  if (f->debug) extra[n++] = "-debug";
  extra[n++] = "-socket", extra[n++] = socket_path;
  /* the child reports a failed exec through this close-on-exec pipe */
  int report[2];
  if (pipe2(report, O_CLOEXEC) < 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    close(report[0]);
    close(report[1]);
    return -1;
  }
  if (pid == 0) {
    close(report[0]);
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) _exit(127);
    /* dup2 clears close-on-exec on fd 3; listen_at never sets it, so 3 itself needs nothing */
    if (listen_fd != 3 && dup2(listen_fd, 3) < 0) _exit(127);
    for (int fd = 4; fd < 1024; fd++)
      if (fd != report[1]) close(fd);
    if (null > 3) close(null);
    setenv("HUTCH_SHIM_LISTEN_FD", "3", 1);
    exec_js_shim(node, main_js, extra, n, args);
    int err = errno;
    (void)!write(report[1], &err, sizeof err);
    _exit(127);
  }
  close(report[1]);
  int err = 0;
  ssize_t got;
  do got = read(report[0], &err, sizeof err);
  while (got < 0 && errno == EINTR);
  close(report[0]);
  return got > 0 ? -1 : 0; /* EOF: exec'd; the launcher never waits for it (containerd reaps or init does) */
}

void native_start(const struct shim_flags *f, const char *bundle, const char *socket_path, const char *address, size_t address_len) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", socket_path);
  char *slash = strrchr(dir, '/');
  if (!slash || slash == dir) return;
  *slash = '\0';
  if (make_dirs(dir) < 0) return;
  int fd = listen_at(socket_path);
  if (fd < 0 && errno == EADDRINUSE) {
    /* refused: gone for good, or caught between another start's bind and listen? ask again briefly */
    int live = -1;
    for (int attempt = 0; attempt < 3 && live < 0; attempt++) {
      if (attempt) nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
      live = connect_unix(socket_path, 1000);
    }
    if (live >= 0) {
      /* started meanwhile by another start of the group: reuse it */
      close(live);
      answer_start(bundle, address, address_len, 0);
      return;
    }
    unlink(socket_path); /* left by a shim that died */
    fd = listen_at(socket_path);
  }
  if (fd < 0) return;
  drain_stdin();
  if (spawn_server(f, socket_path, fd) < 0) {
    close(fd);
    unlink(socket_path);
    return;
  }
  close(fd);
  answer_start(bundle, address, address_len, 1);
}
