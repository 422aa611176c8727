/*
 * Paths inside the container root, resolved with openat2(RESOLVE_IN_ROOT) so that
 * a symlink in the rootfs (absolute or "..") can never lead a mount or a device
 * node outside it. Mount targets are then addressed as /proc/self/fd/N.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int resolve_in_root(int rootfd, const char *path, int flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  while (*path == '/') path++;
  if (*path == 0) path = ".";
  for (;;) {
    long fd = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
    if (fd >= 0 || errno != EAGAIN) return (int)fd;
  }
}

const char *fd_path(int fd, int slot) {
  static char buf[4][32];
  snprintf(buf[slot & 3], sizeof buf[0], "/proc/self/fd/%d", fd);
  return buf[slot & 3];
}

/* Creates the last component `name` in directory `dirfd`. */
static void create_leaf(int dirfd, const char *name, int want_file, const char *step, const char *path) {
  if (want_file) {
    int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
    else if (errno != EEXIST) fail(step, errno, "create mount target %s", path);
  } else if (mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST) {
    fail(step, errno, "create directory %s", path);
  }
}

int mkdir_all_in_root(int rootfd, const char *path, int want_file, const char *step) {
  int fd = resolve_in_root(rootfd, path, O_PATH);
  if (fd >= 0) return fd;
  if (errno != ENOENT) fail(step, errno, "resolve %s in the rootfs", path);

  size_t len = strlen(path);
  char *copy = malloc(len + 1);
  if (!copy) fail(step, ENOMEM, "out of memory");
  memcpy(copy, path, len + 1);
  /* Walk prefixes; each is resolved from the root again, so symlinks stay inside. */
  for (char *p = copy; ; ) {
    while (*p == '/') p++;
    if (*p == 0) break;
    char *slash = strchr(p, '/');
    int last = slash == NULL;
    if (slash) {
      /* the rest may be only slashes */
      char *q = slash;
      while (*q == '/') q++;
      if (*q == 0) last = 1;
    }
    if (slash) *slash = 0;
    int existing = resolve_in_root(rootfd, copy, O_PATH);
    if (existing >= 0) {
      close(existing);
    } else if (errno == ENOENT) {
      char *base = strrchr(copy, '/');
      int parent;
      const char *name;
      if (base && base != copy) {
        *base = 0;
        parent = resolve_in_root(rootfd, copy, O_PATH | O_DIRECTORY);
        *base = '/';
        name = base + 1;
      } else {
        parent = resolve_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
        name = base ? base + 1 : copy;
      }
      if (parent < 0) fail(step, errno, "resolve parent of %s in the rootfs", path);
      create_leaf(parent, name, last && want_file, step, path);
      close(parent);
    } else {
      fail(step, errno, "resolve %s in the rootfs", copy);
    }
    if (!slash || last) break;
    *slash = '/';
    p = slash + 1;
  }
  free(copy);
  fd = resolve_in_root(rootfd, path, O_PATH);
  if (fd < 0) fail(step, errno, "resolve %s in the rootfs", path);
  return fd;
}
