/*
 * hutch-nsmount: makes host files available inside a container's mount namespace.
 * The GPU hook (hooks/gpu.ts) uses it at prestart to bind device nodes and driver
 * files into the container and to update the container's linker cache. It decides
 * nothing: the hook computed every path.
 *
 * Why a separate program and not the addon: setns(CLONE_NEWNS) fails with EINVAL in
 * a multi-threaded process (Node always is) unless the calling thread first
 * unshare(CLONE_FS)s, and the ldconfig step must exec a program inside the namespace,
 * which would mean forking Node. A tiny single-threaded static program does both
 * plainly, and works whichever runtime (hutch, runc) runs the hook.
 *
 * usage: hutch-nsmount PID|- ROOTFS OP...
 *   dev SRC DST       bind-mount a device node            (nosuid, noexec)
 *   ro SRC DST        bind-mount a file read-only          (ro, nosuid, nodev)
 *   link TARGET DST   create a symlink (an existing symlink is replaced)
 *   lddir DIR         a directory for the linker cache
 *   ldconfig PATH     run this (static) ldconfig chrooted into ROOTFS; done last
 * PID: the container init whose mount namespace to enter; "-" to stay in the current one.
 * SRC: host paths, opened (open_tree) before entering the namespace.
 * DST, DIR: container paths, resolved inside ROOTFS with RESOLVE_IN_ROOT, so a
 * symlink in the container's image cannot point a mount outside it.
 * On failure: "hutch-nsmount: <step> <path>: <strerror> (<ERRNO>)" and exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum op_kind { OP_DEV, OP_RO, OP_LINK, OP_LDDIR, OP_LDCONFIG };

struct op {
  enum op_kind kind;
  const char *a; /* SRC, TARGET, DIR or PATH */
  const char *b; /* DST */
  int fd;        /* detached mount tree, or the ldconfig binary */
};

static void fail(const char *step, const char *path, int err) {
  const char *name = strerrorname_np(err);
  fprintf(stderr, "hutch-nsmount: %s %s: %s (%s)\n", step, path, strerror(err), name ? name : "?");
  exit(1);
}

static void usage(const char *why) {
  fprintf(stderr, "hutch-nsmount: %s\nusage: hutch-nsmount PID|- ROOTFS [dev SRC DST | ro SRC DST | link TARGET DST | lddir DIR | ldconfig PATH]...\n", why);
  exit(2);
}

static int openat2_in_root(int rootfd, const char *path, int flags) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = (unsigned long long)(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  while (*path == '/') path++;
  if (*path == 0) path = ".";
  return (int)syscall(SYS_openat2, rootfd, path, &how, sizeof how);
}

/* The directory `dir` (a container path) under rootfd, made (0755) where missing. */
static int ensure_dir(int rootfd, const char *dir) {
  char prefix[PATH_MAX];
  size_t len = strlen(dir);
  if (len >= sizeof prefix) fail("mkdir", dir, ENAMETOOLONG);
  for (size_t i = 1; i <= len; i++) {
    if (i < len && dir[i] != '/') continue;
    memcpy(prefix, dir, i);
    prefix[i] = 0;
    int fd = openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
    if (fd >= 0) {
      if (i == len) return fd;
      close(fd);
      continue;
    }
    if (errno != ENOENT) fail("open directory", prefix, errno);
    char *slash = strrchr(prefix, '/');
    *slash = 0;
    int parent = openat2_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
    if (parent < 0) fail("open directory", prefix[0] ? prefix : "/", errno);
    if (mkdirat(parent, slash + 1, 0755) < 0 && errno != EEXIST) fail("mkdir", dir, errno);
    close(parent);
    *slash = '/';
    i--; /* open the prefix again, now that it exists */
  }
  return openat2_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
}

static void split(const char *path, char *parent, const char **base) {
  size_t len = strlen(path);
  if (len >= PATH_MAX) fail("path", path, ENAMETOOLONG);
  memcpy(parent, path, len + 1);
  char *slash = strrchr(parent, '/');
  if (!slash || slash[1] == 0) fail("path", path, EINVAL);
  *base = path + (slash - parent) + 1;
  if (slash == parent) slash[1] = 0;
  else *slash = 0;
}

/* An O_PATH fd of the mount point DST, made as an empty file if missing. Never opens
 * an existing node for I/O (DST may be a device). */
static int mount_point(int rootfd, const char *dst) {
  int fd = openat2_in_root(rootfd, dst, O_PATH);
  if (fd >= 0) return fd;
  if (errno != ENOENT) fail("open mount point", dst, errno);
  char parent[PATH_MAX];
  const char *base;
  split(dst, parent, &base);
  int pfd = ensure_dir(rootfd, parent);
  if (mknodat(pfd, base, S_IFREG | 0644, 0) < 0 && errno != EEXIST) fail("create mount point", dst, errno);
  close(pfd);
  fd = openat2_in_root(rootfd, dst, O_PATH);
  if (fd < 0) fail("open mount point", dst, errno);
  return fd;
}

static void make_link(int rootfd, const char *target, const char *dst) {
  char parent[PATH_MAX];
  const char *base;
  split(dst, parent, &base);
  int pfd = ensure_dir(rootfd, parent);
  char have[PATH_MAX];
  ssize_t n = readlinkat(pfd, base, have, sizeof have - 1);
  if (n >= 0) {
    have[n] = 0;
    if (strcmp(have, target) == 0) {
      close(pfd);
      return;
    }
    if (unlinkat(pfd, base, 0) < 0) fail("replace symlink", dst, errno);
  } else if (errno != ENOENT) {
    fail("symlink (a file of that name exists)", dst, errno == EINVAL ? EEXIST : errno);
  }
  if (symlinkat(target, pfd, base) < 0) fail("symlink", dst, errno);
  close(pfd);
}

int main(int argc, char **argv) {
  if (argc < 3) usage("missing PID and ROOTFS");
  const char *pid = argv[1];
  const char *rootfs = argv[2];
  int nops = 0;
  struct op *ops = calloc((size_t)argc, sizeof *ops);
  const char *lddirs[256];
  int nlddirs = 0;
  int ldconfig = -1;
  if (!ops) fail("calloc", "ops", ENOMEM);

  for (int i = 3; i < argc; i++) {
    const char *name = argv[i];
    struct op *op = &ops[nops];
    if (!strcmp(name, "dev") || !strcmp(name, "ro") || !strcmp(name, "link")) {
      if (i + 2 >= argc) usage("an operation lacks its arguments");
      op->kind = !strcmp(name, "dev") ? OP_DEV : !strcmp(name, "ro") ? OP_RO : OP_LINK;
      op->a = argv[++i];
      op->b = argv[++i];
    } else if (!strcmp(name, "lddir") || !strcmp(name, "ldconfig")) {
      if (i + 1 >= argc) usage("an operation lacks its argument");
      op->kind = !strcmp(name, "lddir") ? OP_LDDIR : OP_LDCONFIG;
      op->a = argv[++i];
      if (op->kind == OP_LDDIR) {
        if (nlddirs >= (int)(sizeof lddirs / sizeof *lddirs) - 1) usage("too many lddir operations");
        lddirs[nlddirs++] = op->a;
      } else {
        ldconfig = nops;
      }
    } else {
      usage("unknown operation");
    }
    nops++;
  }

  /* In the caller's mount namespace: detached copies of every source, flags set. */
  for (int i = 0; i < nops; i++) {
    struct op *op = &ops[i];
    if (op->kind == OP_DEV || op->kind == OP_RO) {
      op->fd = open_tree(AT_FDCWD, op->a, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
      if (op->fd < 0) fail("open_tree", op->a, errno);
      struct mount_attr attr;
      memset(&attr, 0, sizeof attr);
      attr.attr_set = op->kind == OP_RO ? (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV) : (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC);
      if (mount_setattr(op->fd, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0) fail("mount_setattr", op->a, errno);
    } else if (op->kind == OP_LDCONFIG) {
      op->fd = open(op->a, O_PATH | O_CLOEXEC);
      if (op->fd < 0) fail("open", op->a, errno);
    }
  }

  if (strcmp(pid, "-") != 0) {
    char nspath[64];
    snprintf(nspath, sizeof nspath, "/proc/%s/ns/mnt", pid);
    int ns = open(nspath, O_RDONLY | O_CLOEXEC);
    if (ns < 0) fail("open", nspath, errno);
    if (setns(ns, CLONE_NEWNS) < 0) fail("setns", nspath, errno);
    close(ns);
  }
  int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0) fail("open rootfs", rootfs, errno);

  for (int i = 0; i < nops; i++) {
    struct op *op = &ops[i];
    if (op->kind == OP_DEV || op->kind == OP_RO) {
      int target = mount_point(rootfd, op->b);
      if (move_mount(op->fd, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) fail("move_mount", op->b, errno);
      close(target);
      close(op->fd);
    } else if (op->kind == OP_LINK) {
      make_link(rootfd, op->a, op->b);
    }
  }

  if (ldconfig >= 0) {
    /* ldconfig writes /etc/ld.so.cache of the root it runs in: the container's. */
    if (fchdir(rootfd) < 0) fail("chdir", rootfs, errno);
    if (chroot(".") < 0) fail("chroot", rootfs, errno);
    if (chdir("/") < 0) fail("chdir", "/", errno);
    const char *args[sizeof lddirs / sizeof *lddirs + 4];
    int n = 0;
    args[n++] = "ldconfig";
    /* Without the image's ld.so.conf, ldconfig still caches the trusted and given dirs. */
    if (access("/etc/ld.so.conf", F_OK) < 0 && access("/dev/null", F_OK) == 0) {
      args[n++] = "-f";
      args[n++] = "/dev/null";
    }
    for (int i = 0; i < nlddirs; i++) args[n++] = lddirs[i];
    args[n] = NULL;
    char *envp[] = {NULL};
    syscall(SYS_execveat, ops[ldconfig].fd, "", (char *const *)args, envp, AT_EMPTY_PATH);
    fail("execveat", ops[ldconfig].a, errno);
  }
  return 0;
}
