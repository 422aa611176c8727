/* tmpcopyup: a tmpfs mounted over a directory starts with that directory's contents
 * (runc's extension, which Docker relies on for --tmpfs). Copies a tree between two
 * directory fds: files, directories, symlinks and device nodes, with modes and owners. */
#include "init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

static void copy_file(int src_dir, int dst_dir, const char *name, const struct stat *st, const char *what) {
  int in = openat(src_dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (in < 0) fail("tmpcopyup", errno, "open %s/%s", what, name);
  int out = openat(dst_dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, st->st_mode & 07777);
  if (out < 0) fail("tmpcopyup", errno, "create %s/%s", what, name);
  for (off_t left = st->st_size; left > 0;) {
    ssize_t n = sendfile(out, in, NULL, left > 0x40000000 ? 0x40000000 : (size_t)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("tmpcopyup", errno, "copy %s/%s", what, name);
    if (n == 0) break;
    left -= n;
  }
  if (fchmod(out, st->st_mode & 07777) < 0) fail("tmpcopyup", errno, "chmod %s/%s", what, name);
  close(in);
  close(out);
}

static void copy_entry(int src_dir, int dst_dir, const char *name, const char *what, int depth);

static void copy_tree(int src_dir, int dst_dir, const char *what, int depth) {
  if (depth > 64) fail("tmpcopyup", ELOOP, "directory tree under %s too deep", what);
  int list_fd = openat(src_dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (list_fd < 0) fail("tmpcopyup", errno, "open %s", what);
  DIR *dir = fdopendir(list_fd);
  if (!dir) fail("tmpcopyup", errno, "list %s", what);
  struct dirent *e;
  while ((errno = 0, e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    copy_entry(src_dir, dst_dir, e->d_name, what, depth);
  }
  if (errno) fail("tmpcopyup", errno, "list %s", what);
  closedir(dir);
}

static void copy_entry(int src_dir, int dst_dir, const char *name, const char *what, int depth) {
  struct stat st;
  if (fstatat(src_dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) fail("tmpcopyup", errno, "stat %s/%s", what, name);
  if (S_ISDIR(st.st_mode)) {
    if (mkdirat(dst_dir, name, st.st_mode & 07777) < 0 && errno != EEXIST) fail("tmpcopyup", errno, "mkdir %s/%s", what, name);
    int s = openat(src_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int d = openat(dst_dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (s < 0 || d < 0) fail("tmpcopyup", errno, "open %s/%s", what, name);
    copy_tree(s, d, what, depth + 1);
    if (fchmod(d, st.st_mode & 07777) < 0) fail("tmpcopyup", errno, "chmod %s/%s", what, name);
    close(s);
    close(d);
  } else if (S_ISREG(st.st_mode)) {
    copy_file(src_dir, dst_dir, name, &st, what);
  } else if (S_ISLNK(st.st_mode)) {
    char target[4096];
    ssize_t n = readlinkat(src_dir, name, target, sizeof target - 1);
    if (n < 0) fail("tmpcopyup", errno, "readlink %s/%s", what, name);
    target[n] = 0;
    if (symlinkat(target, dst_dir, name) < 0) fail("tmpcopyup", errno, "symlink %s/%s", what, name);
  } else if (mknodat(dst_dir, name, st.st_mode, st.st_rdev) < 0) {
    fail("tmpcopyup", errno, "mknod %s/%s", what, name);
  }
  if (fchownat(dst_dir, name, st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0) fail("tmpcopyup", errno, "chown %s/%s", what, name);
}

void copy_directory(int src_dir, int dst_dir, const char *what) {
  copy_tree(src_dir, dst_dir, what, 0);
}
