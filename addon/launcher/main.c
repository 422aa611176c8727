/*
 * containerd-shim-hutch-v2's native launcher (see launcher.h for the why). It reads
 * the command line as Go's flag package does; anything it is not sure of — an unknown
 * flag, -v, -h, no namespace, a spec it cannot read, no live shim, any failure on the
 * fast path — goes to the JS shim unchanged, which knows how to answer or complain.
 */
#include "launcher.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SOCKET_PATH_MAX 107

/* Go's strconv.ParseBool: 1 true, 0 false, -1 neither. */
static int parse_bool(const char *v) {
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
  for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
    if (strcmp(v, yes[i]) == 0) return 1;
    if (strcmp(v, no[i]) == 0) return 0;
  }
  return -1;
}

/* 0 when the command line is one the fast paths may handle. */
static int parse_flags(int argc, char **argv, struct shim_flags *f) {
  int i = 1;
  for (; i < argc; i++) {
    const char *arg = argv[i];
    if (strlen(arg) < 2 || arg[0] != '-') break;
    const char *body = arg + 1;
    if (body[0] == '-') {
      body++;
      if (!body[0]) {
        i++;
        break;
      }
    }
    if (!body[0] || body[0] == '-' || body[0] == '=') return -1;
    const char *eq = strchr(body, '=');
    size_t name_len = eq ? (size_t)(eq - body) : strlen(body);
#define IS(name) (name_len == sizeof(name) - 1 && strncmp(body, name, name_len) == 0)
    if (IS("debug")) {
      int v = eq ? parse_bool(eq + 1) : 1;
      if (v < 0) return -1;
      f->debug = v;
      continue;
    }
    const char **slot = IS("namespace")        ? &f->namespace
                        : IS("address")        ? &f->address
                        : IS("publish-binary") ? &f->publish_binary
                        : IS("id")             ? &f->id
                        : IS("bundle")         ? &f->bundle
                        : NULL;
    if (IS("socket")) return -1; /* serve on a given socket: the JS shim's business */
#undef IS
    if (!slot) return -1; /* -v, -h, or not a flag of ours: the JS shim answers */
    const char *value;
    if (eq) value = eq + 1;
    else if (i + 1 < argc) value = argv[++i];
    else return -1;
    *slot = value;
  }
  f->action = i < argc ? argv[i] : "";
  return 0;
}

static const char *socket_dir(char *buf, size_t size) {
  const char *dir = getenv(SOCKET_DIR_ENV);
  if (!dir || !dir[0]) dir = DEFAULT_SOCKET_DIR;
  size_t n = strlen(dir);
  while (n > 1 && dir[n - 1] == '/') n--; /* as path.join in shim/cli/address.ts */
  if (n >= size) return NULL;
  memcpy(buf, dir, n);
  buf[n] = '\0';
  return buf;
}

/* start: answers and exits when the group's shim is alive; returns otherwise. */
static void fast_start(const struct shim_flags *f) {
  const char *bundle = f->bundle[0] ? f->bundle : ".";
  char *annotation = NULL; /* malloc'd by group_annotation when found, else NULL */
  const char *key = f->id;  /* the container is its own group */
  switch (grouping_policy()) {
    case GROUP_CONTAINER:
      break;
    case GROUP_POD:
      if (group_annotation(bundle, &annotation) < 0) return;
      if (annotation) key = annotation;
      break;
    case GROUP_NAMESPACE:
      key = ""; /* every container of the namespace: "<address>/<namespace>" */
      break;
    case GROUP_AUTO: /* the pod's annotation, else the namespace */
      if (group_annotation(bundle, &annotation) < 0) return;
      key = annotation ? annotation : "";
      break;
    default:
      return;
  }
  char *joined = path_join_clean(f->address, f->namespace, key);
  free(annotation);
  if (!joined) return;
  char hex[65];
  sha256_hex(joined, strlen(joined), hex);
  free(joined);
  char dir[PATH_MAX], address[PATH_MAX + 16];
  if (!socket_dir(dir, sizeof dir)) return;
  int n = snprintf(address, sizeof address, "unix://%s/%s", dir, hex);
  if (n < 0 || (size_t)n >= sizeof address || strlen(address + 7) > SOCKET_PATH_MAX) return;
  int fd = connect_unix(address + 7, 1000);
  if (fd < 0) {
    /* no live shim: start one here (returns only if it cannot; the JS shim then tries) */
    native_start(f, bundle, address + 7, address, (size_t)n);
    return;
  }
  close(fd);
  answer_start(bundle, address, (size_t)n, 0);
}

/* delete: hands the job to the live group shim and exits; returns if it cannot. */
static void fast_delete(const struct shim_flags *f) {
  char cwd[PATH_MAX];
  const char *bundle = f->bundle;
  if (!bundle[0]) {
    if (!getcwd(cwd, sizeof cwd)) return;
    bundle = cwd;
  }
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/address", bundle) >= (int)sizeof path) return;
  size_t len;
  char *text = read_file(path, 4096, &len);
  if (text) {
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\r' || text[len - 1] == '\t')) text[--len] = '\0';
    uint8_t *out = NULL;
    size_t out_len = 0;
    int rc = strncmp(text, "unix://", 7) == 0 ? admin_delete(text + 7, f->id, bundle, f->namespace, &out, &out_len) : -1;
    free(text);
    if (rc == 0) exit(write_all(1, out, out_len) < 0 ? 1 : 0);
  }
  /* no live shim to ask: answer here only when there is nothing to clean up */
  if (container_gone(f->namespace, f->id, bundle) != 1) return;
  uint8_t answer[GONE_RESPONSE_MAX];
  exit(write_all(1, answer, gone_delete_response(answer)) < 0 ? 1 : 0);
}

int main(int argc, char **argv) {
  struct shim_flags f = {.namespace = "", .address = "", .publish_binary = "", .id = "", .bundle = "", .action = "", .debug = 0};
  if (parse_flags(argc, argv, &f) == 0 && f.namespace[0] && f.id[0]) {
    if (strcmp(f.action, "start") == 0) fast_start(&f);
    else if (strcmp(f.action, "delete") == 0) fast_delete(&f);
  }
  exec_node(argc, argv);
}
