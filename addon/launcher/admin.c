/*
 * One ttrpc call, hutch.shim.v1.Admin/Delete, spoken by hand: a Request frame
 * (10-byte header, stream id 1) carrying { service, method, payload =
 * DeleteRequest{id, bundle, namespace}, timeout, metadata = the namespace }, and the
 * Response's status code and payload read back. See proto/ttrpc/request.proto and
 * proto/admin/admin.proto.
 */
#include "launcher.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct buf {
  uint8_t *data;
  size_t len, cap;
  int failed;
};

static void put(struct buf *b, const void *p, size_t n) {
  if (b->failed) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap * 2 : 256;
    while (cap < b->len + n) cap *= 2;
    uint8_t *d = realloc(b->data, cap);
    if (!d) {
      b->failed = 1;
      return;
    }
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

static void put_varint(struct buf *b, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  do {
    tmp[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) tmp[n] |= 0x80;
    n++;
  } while (v);
  put(b, tmp, n);
}

/* A length-delimited field (wire type 2); proto3 leaves empty ones out. */
static void put_bytes(struct buf *b, unsigned field, const void *p, size_t n) {
  if (n == 0) return;
  put_varint(b, (uint64_t)field << 3 | 2);
  put_varint(b, n);
  put(b, p, n);
}

static void put_string(struct buf *b, unsigned field, const char *s) { put_bytes(b, field, s, strlen(s)); }

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return -1;
    uint8_t byte = *(*p)++;
    *v |= (uint64_t)(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return 0;
  }
  return -1;
}

/* Steps over one field's value of the given wire type. */
static int skip_field(const uint8_t **p, const uint8_t *end, unsigned wire) {
  uint64_t v;
  switch (wire) {
    case 0:
      return get_varint(p, end, &v);
    case 1:
      if (end - *p < 8) return -1;
      *p += 8;
      return 0;
    case 2:
      if (get_varint(p, end, &v) < 0 || v > (uint64_t)(end - *p)) return -1;
      *p += v;
      return 0;
    case 5:
      if (end - *p < 4) return -1;
      *p += 4;
      return 0;
    default:
      return -1;
  }
}

/* Response { 1 status: Status { 1 code }, 2 payload }: the code and the payload span. */
static int parse_response(const uint8_t *p, const uint8_t *end, int64_t *code, const uint8_t **payload, size_t *payload_len) {
  *code = 0;
  *payload = p;
  *payload_len = 0;
  while (p < end) {
    uint64_t tag, len;
    if (get_varint(&p, end, &tag) < 0) return -1;
    unsigned field = (unsigned)(tag >> 3), wire = (unsigned)(tag & 7);
    if ((field == 1 || field == 2) && wire == 2) {
      if (get_varint(&p, end, &len) < 0 || len > (uint64_t)(end - p)) return -1;
      if (field == 2) {
        *payload = p;
        *payload_len = len;
      } else {
        const uint8_t *s = p, *send = p + len;
        while (s < send) {
          uint64_t stag, value;
          if (get_varint(&s, send, &stag) < 0) return -1;
          if (stag == (1 << 3 | 0)) {
            if (get_varint(&s, send, &value) < 0) return -1;
            *code = (int64_t)value;
          } else if (skip_field(&s, send, (unsigned)(stag & 7)) < 0) {
            return -1;
          }
        }
      }
      p += len;
    } else if (skip_field(&p, end, wire) < 0) {
      return -1;
    }
  }
  return 0;
}

int admin_delete(const char *socket_path, const char *id, const char *bundle, const char *ns, uint8_t **out, size_t *out_len) {
  struct buf req = {0}, kv = {0}, env = {0};
  put_string(&req, 1, id);
  put_string(&req, 2, bundle);
  put_string(&req, 3, ns);
  put_string(&kv, 1, NAMESPACE_KEY);
  put_string(&kv, 2, ns);
  put_string(&env, 1, ADMIN_SERVICE);
  put_string(&env, 2, ADMIN_DELETE);
  put_bytes(&env, 3, req.data, req.len);
  put_varint(&env, 4 << 3 | 0);
  put_varint(&env, (uint64_t)ADMIN_TIMEOUT_MS * 1000000u);
  put_bytes(&env, 5, kv.data, kv.len);
  int rc = -1, fd = -1;
  uint8_t *body = NULL;
  if (req.failed || kv.failed || env.failed || env.len > MESSAGE_LENGTH_MAX) goto done;

  uint8_t header[10];
  uint32_t n = (uint32_t)env.len;
  header[0] = (uint8_t)(n >> 24), header[1] = (uint8_t)(n >> 16), header[2] = (uint8_t)(n >> 8), header[3] = (uint8_t)n;
  header[4] = 0, header[5] = 0, header[6] = 0, header[7] = 1; /* stream id 1 */
  header[8] = 1;                                               /* request */
  header[9] = 0;
  fd = connect_unix(socket_path, ADMIN_TIMEOUT_MS);
  if (fd < 0 || write_all(fd, header, sizeof header) < 0 || write_all(fd, env.data, env.len) < 0) goto done;

  if (read_full(fd, header, sizeof header) < 0) goto done;
  uint32_t len = (uint32_t)header[0] << 24 | (uint32_t)header[1] << 16 | (uint32_t)header[2] << 8 | header[3];
  uint32_t stream = (uint32_t)header[4] << 24 | (uint32_t)header[5] << 16 | (uint32_t)header[6] << 8 | header[7];
  if (stream != 1 || header[8] != 2 || len > MESSAGE_LENGTH_MAX) goto done;
  body = malloc(len ? len : 1);
  if (!body || read_full(fd, body, len) < 0) goto done;

  int64_t code;
  const uint8_t *payload;
  size_t payload_len;
  if (parse_response(body, body + len, &code, &payload, &payload_len) < 0 || code != 0) goto done;
  *out = malloc(payload_len ? payload_len : 1);
  if (!*out) goto done;
  memcpy(*out, payload, payload_len);
  *out_len = payload_len;
  rc = 0;
done:
  if (fd >= 0) close(fd);
  free(body);
  free(req.data);
  free(kv.data);
  free(env.data);
  return rc;
}
