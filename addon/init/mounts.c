/*
 * The container's mounts, in plan order. Each target is created and opened inside
 * the rootfs with resolve.c, and mount(2) is pointed at /proc/self/fd/N so the path
 * is never re-walked. Flags that bind mounts cannot take at creation time (ro,
 * nosuid, ...) are applied with a remount that keeps the flags the kernel locks.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PROPAGATION_FLAGS (MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE)
#define PER_MOUNT_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_NOSYMFOLLOW)

/* After a mount on a target, an fd opened before refers to what is underneath. */
static int reopen_target(int rootfd, const char *target) {
  int fd = resolve_in_root(rootfd, target, O_PATH);
  if (fd < 0) fail("mount", errno, "reopen %s after mounting", target);
  return fd;
}

/* Per-mount flags as mount_setattr attributes. Only what is asked for changes, so the
 * flags the kernel locks (nosuid, nodev, ... from an outer user ns) are never dropped. */
static void flags_to_attr(unsigned long flags, struct mount_attr *attr) {
  if (flags & MS_RDONLY) attr->attr_set |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) attr->attr_set |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) attr->attr_set |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) attr->attr_set |= MOUNT_ATTR_NOEXEC;
  if (flags & MS_NODIRATIME) attr->attr_set |= MOUNT_ATTR_NODIRATIME;
  if (flags & MS_NOSYMFOLLOW) attr->attr_set |= MOUNT_ATTR_NOSYMFOLLOW;
  if (flags & (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)) {
    attr->attr_clr |= MOUNT_ATTR__ATIME;
    attr->attr_set |= (flags & MS_NOATIME) ? MOUNT_ATTR_NOATIME : (flags & MS_STRICTATIME) ? MOUNT_ATTR_STRICTATIME : MOUNT_ATTR_RELATIME;
  }
}

void setattr_at(int fd, unsigned int at_flags, struct mount_attr *attr, const char *what) {
  if (!attr->attr_set && !attr->attr_clr) return;
  if (mount_setattr(fd, "", AT_EMPTY_PATH | at_flags, attr, sizeof *attr) < 0)
    fail("mount", errno, "set mount attributes of %s", what);
}

void remount_readonly_at(int fd, const char *what, int recursive) {
  struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
  setattr_at(fd, recursive ? AT_RECURSIVE : 0, &attr, what);
}

static void mount_symlink(int rootfd, const struct plan_mount *m) {
  char *copy = strdup(m->target);
  if (!copy) fail("symlink", ENOMEM, "out of memory");
  char *slash = strrchr(copy, '/');
  const char *name = slash ? slash + 1 : copy;
  if (slash) *slash = 0;
  int dirfd = mkdir_all_in_root(rootfd, *copy ? copy : "/", 0, "symlink");
  if (symlinkat(m->source, dirfd, name) < 0 && errno != EEXIST) fail("symlink", errno, "symlink %s -> %s", m->target, m->source);
  close(dirfd);
  free(copy);
}

static void mount_bind(int rootfd, const struct plan_mount *m) {
  struct stat st;
  if (stat(m->source, &st) < 0) fail("mount", errno, "bind mount source \"%s\" for %s", m->source, m->target);
  int fd = mkdir_all_in_root(rootfd, m->target, !S_ISDIR(st.st_mode), "mount");
  if (mount(m->source, fd_path(fd, 0), NULL, MS_BIND | (m->flags & MS_REC), NULL) < 0)
    fail("mount", errno, "bind mount \"%s\" on %s", m->source, m->target);
  close(fd);
  struct mount_attr attr = {0};
  flags_to_attr(m->flags, &attr);
  if (attr.attr_set) {
    fd = reopen_target(rootfd, m->target);
    setattr_at(fd, 0, &attr, m->target);
    close(fd);
  }
}

static void mount_fs(int rootfd, const struct plan_mount *m) {
  int fd = mkdir_all_in_root(rootfd, m->target, 0, "mount");
  unsigned long flags = m->flags & ~(unsigned long)PROPAGATION_FLAGS;
  /* a read-only tmpfs is filled (devices, copy-up) first and made read-only after;
   * runtime/launch/mounts.ts marks every read-only tmpfs remount_late, copy-up or not */
  if (m->remount_late) flags &= ~(unsigned long)MS_RDONLY;
  const char *source = m->source ? m->source : (m->fstype ? m->fstype : "none");
  int below = -1;
  if (m->copy_up) {
    below = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (below < 0) fail("mount", errno, "open %s for tmpcopyup", m->target);
  }
  if (mount(source, fd_path(fd, 0), m->fstype, flags, m->data) < 0) {
    if (m->fstype && strcmp(source, m->fstype) != 0)
      fail("mount", errno, "mount \"%s\" (%s) on %s", source, m->fstype, m->target);
    fail("mount", errno, "mount \"%s\" on %s", source, m->target);
  }
  close(fd);
  if (below >= 0) {
    int top = resolve_in_root(rootfd, m->target, O_RDONLY | O_DIRECTORY);
    if (top < 0) fail("mount", errno, "open the new tmpfs on %s", m->target);
    copy_directory(below, top, m->target);
    close(top);
    close(below);
  }
}

void mounts_apply(struct plan *plan, int rootfd) {
  for (int i = 0; i < plan->nmounts; i++) {
    const struct plan_mount *m = &plan->mounts[i];
    switch (m->kind) {
      case MOUNT_KIND_SYMLINK: mount_symlink(rootfd, m); continue;
      case MOUNT_KIND_MKDIR: close(mkdir_all_in_root(rootfd, m->target, 0, "mkdir")); continue;
      case MOUNT_KIND_BIND: mount_bind(rootfd, m); break;
      case MOUNT_KIND_FS: mount_fs(rootfd, m); break;
      default: fail("mount", EINVAL, "unknown mount kind %llu for %s", (unsigned long long)m->kind, m->target);
    }
    if (m->propagation || m->attr_set || m->attr_clr) {
      int fd = reopen_target(rootfd, m->target);
      if (m->propagation && mount(NULL, fd_path(fd, 0), NULL, m->propagation, NULL) < 0)
        fail("mount", errno, "set propagation of %s", m->target);
      struct mount_attr attr = {.attr_set = m->attr_set, .attr_clr = m->attr_clr};
      setattr_at(fd, AT_RECURSIVE, &attr, m->target);
      close(fd);
    }
  }
}

void mounts_remount_late(struct plan *plan, int rootfd) {
  for (int i = 0; i < plan->nmounts; i++) {
    const struct plan_mount *m = &plan->mounts[i];
    if (!m->remount_late) continue;
    int fd = reopen_target(rootfd, m->target);
    remount_readonly_at(fd, m->target, 0);
    close(fd);
  }
}
