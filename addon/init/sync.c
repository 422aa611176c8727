/* The sync socket to the parent: framed messages (plan_format.h) and failure reports. */
#include "init.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int sync_fd = -1;
static int detached;

static void write_all(const void *data, size_t len) {
  const uint8_t *p = data;
  while (len > 0) {
    ssize_t n = send(sync_fd, p, len, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) _exit(1); /* the parent is gone: nobody to tell */
    p += n;
    len -= (size_t)n;
  }
}

static void read_all(void *data, size_t len) {
  uint8_t *p = data;
  while (len > 0) {
    ssize_t n = read(sync_fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) _exit(1); /* the parent closed the socket: it gave up on us */
    if (n < 0) fail("sync", errno, "read from parent");
    p += n;
    len -= (size_t)n;
  }
}

void sync_send(uint32_t type, const void *data, uint32_t len) {
  uint32_t header[2] = {type, len};
  write_all(header, sizeof header);
  if (len) write_all(data, len);
}

int send_fd(int sock, const void *data, size_t len, int fd) {
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
  struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
    if (errno != EINTR) return -1;
  }
  return 0;
}

void sync_send_fd(uint32_t type, int fd) {
  uint32_t header[2] = {type, 0};
  if (send_fd(sync_fd, header, sizeof header, fd) < 0) fail("sync", errno, "send fd to parent");
}

/* MSG_CGROUP_READY comes whenever the parent's cgroup attach finishes: kept if it
 * arrives while we wait for something else. */
static int cgroup_ready_seen;

uint8_t *sync_expect(uint32_t type, uint32_t *len) {
  if (type == MSG_CGROUP_READY && cgroup_ready_seen) {
    uint8_t *none = calloc(1, 1);
    if (!none) fail("sync", ENOMEM, "out of memory");
    if (len) *len = 0;
    return none;
  }
  for (;;) {
    uint32_t header[2];
    read_all(header, sizeof header);
    uint8_t *data = malloc((size_t)header[1] + 1);
    if (!data) fail("sync", ENOMEM, "out of memory");
    read_all(data, header[1]);
    data[header[1]] = 0;
    if (header[0] == type) {
      if (len) *len = header[1];
      return data;
    }
    free(data);
    if (header[0] == MSG_CGROUP_READY) {
      cgroup_ready_seen = 1;
      continue;
    }
    fail("sync", EPROTO, "expected message %u from parent, got %u", type, header[0]);
  }
}

void sync_detach(void) {
  detached = 1;
}

void fail(const char *step, int err, const char *fmt, ...) {
  char detail[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  if (detached || sync_fd < 0) {
    /* After `created` the parent is gone; the container's stderr is all we have. */
    dprintf(2, "hutch-init: %s: %s: %s\n", step, detail, strerror(err));
    _exit(err == ENOENT ? 127 : err == EACCES ? 126 : 255);
  }
  size_t step_len = strlen(step) + 1, detail_len = strlen(detail) + 1;
  uint8_t payload[4 + 64 + sizeof detail];
  int32_t e = err;
  if (step_len > 64) step_len = 64;
  memcpy(payload, &e, 4);
  memcpy(payload + 4, step, step_len);
  payload[4 + step_len - 1] = 0;
  memcpy(payload + 4 + step_len, detail, detail_len);
  sync_send(MSG_ERROR, payload, (uint32_t)(4 + step_len + detail_len));
  _exit(1);
}
