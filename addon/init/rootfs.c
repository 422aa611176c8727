/*
 * The root file system: propagation of "/", the rootfs bind mount, pivot_root
 * (or MS_MOVE + chroot with --no-pivot), then the paths the spec masks or makes
 * read-only and a read-only root.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* mountinfo escapes spaces and friends as \ooo */
static void unescape(char *s) {
  char *out = s;
  for (char *p = s; *p; p++) {
    if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' && p[2] && p[3]) {
      *out++ = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
      p += 3;
    } else {
      *out++ = *p;
    }
  }
  *out = 0;
}

/* pivot_root refuses a shared parent mount: with a shared "/" propagation, make the
 * mount holding the rootfs private (what runc's rootfsParentMountPrivate does). */
static void make_parent_private(const char *rootfs) {
  FILE *f = fopen("/proc/self/mountinfo", "re");
  if (!f) fail("rootfs", errno, "open /proc/self/mountinfo");
  char line[4096], best[4096] = "/";
  size_t best_len = 1;
  int best_shared = 0;
  while (fgets(line, sizeof line, f)) {
    char mnt[4096];
    if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1) continue;
    unescape(mnt);
    size_t n = strlen(mnt);
    int prefix = strcmp(mnt, "/") == 0 || (strncmp(rootfs, mnt, n) == 0 && (rootfs[n] == '/' || rootfs[n] == 0));
    if (prefix && n >= best_len) {
      memcpy(best, mnt, n + 1);
      best_len = n;
      best_shared = strstr(line, " shared:") != NULL;
    }
  }
  fclose(f);
  if (best_shared && mount(NULL, best, NULL, MS_PRIVATE, NULL) < 0)
    fail("rootfs", errno, "make the mount %s holding the rootfs private", best);
}

void rootfs_prepare(struct plan *plan) {
  unsigned long propagation = plan->rootfs_propagation ? plan->rootfs_propagation : (MS_SLAVE | MS_REC);
  if (mount(NULL, "/", NULL, propagation, NULL) < 0) fail("rootfs", errno, "set propagation of / (rootfsPropagation)");
  if (propagation & MS_SHARED) make_parent_private(plan->rootfs);
  if (mount(plan->rootfs, plan->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
    fail("rootfs", errno, "bind mount the rootfs %s on itself", plan->rootfs);
}

int rootfs_open(struct plan *plan) {
  int fd = open(plan->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("rootfs", errno, "open rootfs %s", plan->rootfs);
  return fd;
}

static void pivot(const char *rootfs) {
  int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0) fail("pivot_root", errno, "open /");
  int newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (newroot < 0) fail("pivot_root", errno, "open %s", rootfs);
  if (fchdir(newroot) < 0) fail("pivot_root", errno, "chdir %s", rootfs);
  /* pivot_root(".", ".") stacks the old root under the new one; detach it from there. */
  if (syscall(SYS_pivot_root, ".", ".") < 0) fail("pivot_root", errno, "pivot_root to %s", rootfs);
  if (fchdir(oldroot) < 0) fail("pivot_root", errno, "chdir to the old root");
  /* keep the unmount of the old root from propagating to the host */
  if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) fail("pivot_root", errno, "make the old root a slave");
  if (umount2(".", MNT_DETACH) < 0) fail("pivot_root", errno, "detach the old root");
  if (chdir("/") < 0) fail("pivot_root", errno, "chdir /");
  close(oldroot);
  close(newroot);
}

static void move_and_chroot(const char *rootfs) {
  if (chdir(rootfs) < 0) fail("chroot", errno, "chdir %s", rootfs);
  if (mount(rootfs, "/", NULL, MS_MOVE, NULL) < 0) fail("chroot", errno, "move %s to /", rootfs);
  if (chroot(".") < 0) fail("chroot", errno, "chroot %s", rootfs);
  if (chdir("/") < 0) fail("chroot", errno, "chdir /");
}

void rootfs_pivot(struct plan *plan, int rootfd) {
  close(rootfd);
  if (plan->no_pivot) move_and_chroot(plan->rootfs);
  else pivot(plan->rootfs);
}

/* After pivot_root the container's /proc may be absent or not yet trustworthy, so
 * these use the fd-based mount API: nothing is looked up by path twice. */
static void attach_tree(int tree, int target, const char *what) {
  if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    fail("mount", errno, "attach mount on %s", what);
  close(tree);
}

static void readonly_path(int rootfd, const char *path) {
  int fd = resolve_in_root(rootfd, path, O_PATH);
  if (fd < 0) {
    if (errno == ENOENT) return;
    fail("readonly path", errno, "open readonly path %s", path);
  }
  int tree = open_tree(fd, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0) fail("readonly path", errno, "clone the mount at readonly path %s", path);
  remount_readonly_at(tree, path, 0);
  attach_tree(tree, fd, path);
  close(fd);
}

static void mask_path(int rootfd, const char *path) {
  int fd = resolve_in_root(rootfd, path, O_PATH);
  if (fd < 0) {
    if (errno == ENOENT) return;
    fail("masked path", errno, "open masked path %s", path);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) fail("masked path", errno, "stat masked path %s", path);
  int tree;
  if (S_ISDIR(st.st_mode)) {
    int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) fail("masked path", errno, "make a tmpfs to mask %s", path);
    tree = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
    close(fs);
  } else {
    tree = open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  }
  if (tree < 0) fail("masked path", errno, "make the mount that masks %s", path);
  attach_tree(tree, fd, path);
  close(fd);
}

void rootfs_finish(struct plan *plan) {
  int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail("rootfs", errno, "open /");
  mounts_remount_late(plan, rootfd);
  for (int i = 0; i < plan->nreadonly; i++) readonly_path(rootfd, plan->readonly[i]);
  for (int i = 0; i < plan->nmasked; i++) mask_path(rootfd, plan->masked[i]);
  if (plan->root_readonly) remount_readonly_at(rootfd, "/ (root.readonly)", 0);
  close(rootfd);
}
