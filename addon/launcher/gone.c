/*
 * `delete` for a container that is already gone, answered without Node. containerd
 * runs `delete` after every task delete, when its connection to the shim closes; for
 * the last container of a group the shim has exited by then (Shutdown), so there is
 * nobody to ask. When the runtime holds no state for the container
 * (<state root>/<namespace>/<id> absent) and <bundle>/rootfs is not a mount point,
 * there is nothing to clean up, and the answer is what the JS cleanup
 * (shim/task/cleanup.ts) would print in that case: pid 0, exit status 137 (128 +
 * SIGKILL, the runc shim's value), exited now. containerd uses the answer only for a
 * task it still lists (a shim that died under it); after a normal delete it is
 * dropped.
 */
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KILLED_EXIT_STATUS (128 + 9)

/* A single path element that cannot climb out of its directory. */
static int plain_name(const char *s) {
  return s[0] && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 && !strchr(s, '/');
}

/* 1: a mount point; 0: not (or absent); -1: cannot tell. */
static int is_mount_point(const char *path) {
  struct statx stx;
  if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &stx) < 0) return errno == ENOENT ? 0 : -1;
  if (!(stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)) return -1; /* kernel older than 5.8 */
  return (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT) ? 1 : 0;
}

int container_gone(const char *ns, const char *id, const char *bundle) {
  if (!plain_name(ns) || !plain_name(id)) return -1;
  char state[PATH_MAX], rootfs[PATH_MAX];
  if (snprintf(state, sizeof state, "%s/%s/%s", state_root(), ns, id) >= (int)sizeof state) return -1;
  if (snprintf(rootfs, sizeof rootfs, "%s/rootfs", bundle) >= (int)sizeof rootfs) return -1;
  struct stat st;
  if (lstat(state, &st) == 0) return 0;
  if (errno != ENOENT) return -1;
  int mounted = is_mount_point(rootfs);
  return mounted < 0 ? -1 : !mounted;
}

static size_t put_varint(uint8_t *p, uint64_t v) {
  size_t n = 0;
  do {
    p[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) p[n] |= 0x80;
    n++;
  } while (v);
  return n;
}

size_t gone_delete_response(uint8_t out[GONE_RESPONSE_MAX]) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  uint8_t ts[24];
  size_t ts_len = 0;
  ts[ts_len++] = 1 << 3 | 0; /* Timestamp.seconds */
  ts_len += put_varint(ts + ts_len, (uint64_t)now.tv_sec);
  if (now.tv_nsec) {
    ts[ts_len++] = 2 << 3 | 0; /* Timestamp.nanos */
    ts_len += put_varint(ts + ts_len, (uint64_t)now.tv_nsec);
  }
  size_t n = 0;
  out[n++] = 2 << 3 | 0; /* DeleteResponse.exit_status (pid 0 is left out, as proto3 does) */
  n += put_varint(out + n, KILLED_EXIT_STATUS);
  out[n++] = 3 << 3 | 2; /* DeleteResponse.exited_at */
  n += put_varint(out + n, ts_len);
  memcpy(out + n, ts, ts_len);
  return n + ts_len;
}
