/* Device nodes from the plan (the defaults and linux.devices alike): mknod, or in a
 * user namespace, where mknod is not allowed, a bind mount of the host's node. */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int open_parent(int rootfd, const char *path, const char **name) {
  char *copy = strdup(path);
  if (!copy) fail("device", ENOMEM, "out of memory");
  char *slash = strrchr(copy, '/');
  *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  if (slash) *slash = 0;
  int fd = mkdir_all_in_root(rootfd, *copy ? copy : "/", 0, "device");
  free(copy);
  return fd;
}

static void bind_device(int rootfd, const struct plan_device *d) {
  int fd = mkdir_all_in_root(rootfd, d->path, 1, "device");
  if (mount(d->path, fd_path(fd, 0), NULL, MS_BIND, NULL) < 0)
    fail("device", errno, "bind mount host device %s", d->path);
  close(fd);
}

static void make_node(int rootfd, const struct plan_device *d) {
  const char *name;
  int dir = open_parent(rootfd, d->path, &name);
  dev_t dev = makedev((unsigned)d->major, (unsigned)d->minor);
  mode_t mode = (mode_t)(d->type | (d->mode & 07777));
  if (mknodat(dir, name, mode, dev) < 0) {
    if (errno != EEXIST) fail("device", errno, "mknod %s", d->path);
    /* replace whatever the rootfs had there */
    if (unlinkat(dir, name, 0) < 0 || mknodat(dir, name, mode, dev) < 0) fail("device", errno, "mknod %s", d->path);
  }
  /* mknod is subject to the umask; the spec's fileMode is not */
  if (fchmodat(dir, name, (mode_t)(d->mode & 07777), 0) < 0) fail("device", errno, "chmod %s", d->path);
  if (fchownat(dir, name, (uid_t)d->uid, (gid_t)d->gid, AT_SYMLINK_NOFOLLOW) < 0) fail("device", errno, "chown %s", d->path);
  close(dir);
}

void devices_create(struct plan *plan, int rootfd) {
  for (int i = 0; i < plan->ndevices; i++) {
    if (plan->bind_devices) bind_device(rootfd, &plan->devices[i]);
    else make_node(rootfd, &plan->devices[i]);
  }
}
