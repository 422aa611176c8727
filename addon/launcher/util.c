/* Small helpers: paths, whole-file reads and writes, unix sockets, and the exec of Node. */
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
#include <unistd.h>

/*
 * Go's filepath.Join(a, b, c): the non-empty elements joined with '/', then Clean
 * (no repeated or trailing slashes, no "." elements, ".." resolved lexically).
 */
char *path_join_clean(const char *a, const char *b, const char *c) {
  const char *parts[3] = {a, b, c};
  size_t total = 4;
  for (int i = 0; i < 3; i++) total += strlen(parts[i]) + 1;
  char *joined = malloc(total);
  char *out = malloc(total);
  if (!joined || !out) {
    free(joined);
    free(out);
    return NULL;
  }
  joined[0] = '\0';
  for (int i = 0; i < 3; i++) {
    if (!parts[i][0]) continue;
    if (joined[0]) strcat(joined, "/");
    strcat(joined, parts[i]);
  }
  int rooted = joined[0] == '/';
  size_t w = 0, dotdot = 0; /* dotdot: where ".." can no longer backtrack */
  if (rooted) out[w++] = '/', dotdot = 1;
  for (size_t r = 0; joined[r];) {
    if (joined[r] == '/') {
      r++;
    } else if (joined[r] == '.' && (joined[r + 1] == '/' || !joined[r + 1])) {
      r++;
    } else if (joined[r] == '.' && joined[r + 1] == '.' && (joined[r + 2] == '/' || !joined[r + 2])) {
      r += 2;
      if (w > dotdot) {
        w--;
        while (w > dotdot && out[w] != '/') w--;
      } else if (!rooted) {
        if (w > 0) out[w++] = '/';
        out[w++] = '.';
        out[w++] = '.';
        dotdot = w;
      }
    } else {
      if ((rooted && w != 1) || (!rooted && w != 0)) out[w++] = '/';
      while (joined[r] && joined[r] != '/') out[w++] = joined[r++];
    }
  }
  if (w == 0) out[w++] = '.';
  out[w] = '\0';
  free(joined);
  return out;
}

char *read_file(const char *path, size_t max, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    int err = errno;
    close(fd);
    errno = err;
    return NULL;
  }
  if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
    close(fd);
    errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
    return NULL;
  }
  size_t cap = (size_t)st.st_size + 1, n = 0;
  char *buf = malloc(cap);
  if (!buf) {
    close(fd);
    return NULL;
  }
  for (;;) {
    if (n + 1 >= cap) {
      if (cap > max) {
        free(buf);
        close(fd);
        errno = EFBIG;
        return NULL;
      }
      char *b = realloc(buf, cap * 2);
      if (!b) {
        free(buf);
        close(fd);
        return NULL;
      }
      buf = b;
      cap *= 2;
    }
    ssize_t r = read(fd, buf + n, cap - n - 1);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      int err = errno;
      free(buf);
      close(fd);
      errno = err;
      return NULL;
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  *len = n;
  return buf;
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t w = write(fd, p, len);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    len -= (size_t)w;
  }
  return 0;
}

/* Reads exactly len bytes; -1 on error, timeout (SO_RCVTIMEO) or early EOF. */
int read_full(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t r = read(fd, p, len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return -1;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}

/* A connected unix socket with send/receive timeouts, or -1. */
int connect_unix(const char *path, int timeout_ms) {
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) return -1;
  strcpy(addr.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  while (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    if (errno == EINTR) continue;
    close(fd);
    return -1;
  }
  return fd;
}

/* Writes dir/name through dir/tmp_name + rename, so a reader never sees half of it. */
int write_file_atomic(const char *dir, const char *name, const char *tmp_name, const char *data, size_t len) {
  char tmp[PATH_MAX], dst[PATH_MAX];
  if (snprintf(tmp, sizeof tmp, "%s/%s", dir, tmp_name) >= (int)sizeof tmp) return -1;
  if (snprintf(dst, sizeof dst, "%s/%s", dir, name) >= (int)sizeof dst) return -1;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (write_all(fd, data, len) < 0) {
    close(fd);
    unlink(tmp);
    return -1;
  }
  if (close(fd) < 0 || rename(tmp, dst) < 0) {
    unlink(tmp);
    return -1;
  }
  return 0;
}

/*
 * The JS shim for a launcher at <root>/build/Release/<name>: the bundle loader
 * <root>/bin/containerd-shim-hutch-v2-node when scripts/bundle made the bundle, else
 * <root>/dist/shim/cli/main.js.
 */
int js_main(char *out, size_t size) {
  const char *env = getenv("HUTCH_SHIM_MAIN");
  if (env && env[0]) return snprintf(out, size, "%s", env) < (int)size ? 0 : -1;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return -1;
  exe[n] = '\0';
  for (int up = 0; up < 3; up++) {
    char *slash = strrchr(exe, '/');
    if (!slash) return -1;
    *slash = '\0';
  }
  char bundle[PATH_MAX];
  if (snprintf(bundle, sizeof bundle, "%s/dist/bundle/containerd-shim-hutch-v2.js", exe) < (int)sizeof bundle && access(bundle, R_OK) == 0)
    return snprintf(out, size, "%s/bin/containerd-shim-hutch-v2-node", exe) < (int)size ? 0 : -1;
  return snprintf(out, size, "%s/dist/shim/cli/main.js", exe) < (int)size ? 0 : -1;
}

/* HUTCH_NODE, else the node the addon was built against, else `node` on PATH. */
const char *node_binary(void) {
  const char *env = getenv("HUTCH_NODE");
  if (env && env[0]) return env;
#ifdef HUTCH_NODE_PATH
  if (access(HUTCH_NODE_PATH, X_OK) == 0) return HUTCH_NODE_PATH;
#endif
  return "node";
}

/* Node 20 parses every certificate named by NODE_EXTRA_CA_CERTS before it runs a line
 * of JS (~35 ms per start on a 2-core VM), and the shim makes no TLS connections. */
void drop_unused_node_settings(void) {
  unsetenv("NODE_EXTRA_CA_CERTS");
}

/* The caller provides `args` (room for nextra + 4) so that it chooses how a failure to
 * allocate is reported, and a forked child need not allocate at all. */
void exec_js_shim(const char *node, const char *main_js, const char *const *extra, int nextra, const char **args) {
  int n = 0;
  args[n++] = "node";
  /* nothing but the answer may reach containerd, which reads stdout and stderr together */
  args[n++] = "--no-warnings";
  args[n++] = main_js;
  for (int i = 0; i < nextra; i++) args[n++] = extra[i];
  args[n] = NULL;
  drop_unused_node_settings();
  if (strchr(node, '/')) execv(node, (char **)args);
  else execvp(node, (char **)args);
}

_Noreturn void exec_node(int argc, char **argv) {
  char main_js[PATH_MAX];
  if (js_main(main_js, sizeof main_js) < 0) {
    fprintf(stderr, "containerd-shim-hutch-v2: cannot locate the JS shim (set HUTCH_SHIM_MAIN)\n");
    exit(1);
  }
  const char *node = node_binary();
  const char **args = calloc((size_t)argc + 4, sizeof *args);
  if (!args) {
    fprintf(stderr, "containerd-shim-hutch-v2: out of memory\n");
    exit(1);
  }
  exec_js_shim(node, main_js, (const char *const *)argv + 1, argc - 1, args);
  fprintf(stderr, "containerd-shim-hutch-v2: exec %s: %s\n", node, strerror(errno));
  exit(1);
}

void answer_start(const char *bundle, const char *address, size_t len, int committed) {
  if (write_file_atomic(bundle, "address", ".address", address, len) < 0) {
    if (committed) exit(1);
    return;
  }
  exit(write_all(1, address, len) < 0 ? 1 : 0);
}
