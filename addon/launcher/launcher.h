/*
 * The native front of containerd-shim-hutch-v2. containerd runs the shim binary as a
 * short-lived process twice per container (`start`, and `delete` after every task
 * delete); booting Node for each would cost ~100 ms. This program answers both
 * itself when the container's group shim is alive, and otherwise execs Node with the
 * JavaScript shim (dist/shim/cli/main.js), which does the full job:
 *
 *   start   derive the group's socket exactly as shim/cli/address.ts does
 *           (sha256 of "<-address>/<-namespace>/<group>" in /run/containerd/s,
 *           the group by the configured policy, grouping.c);
 *           if a shim accepts connections there: write <bundle>/address, print it.
 *   delete  read <bundle>/address; ask that shim over ttrpc
 *           (hutch.shim.v1.Admin/Delete, shim/admin/service.ts) and print the
 *           DeleteResponse bytes it returns; with no shim to ask and nothing of
 *           the container left (gone.c), print the answer for a dead container.
 *   else    execv node.
 *
 * Single-threaded, no allocation that outlives main, nothing on stdout but the answer.
 */
#ifndef HUTCH_LAUNCHER_H
#define HUTCH_LAUNCHER_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>

/* Keep in step with shim/cli/address.ts and shim/admin/service.ts. */
#define DEFAULT_SOCKET_DIR "/run/containerd/s"
#define SOCKET_DIR_ENV "HUTCH_SHIM_SOCKET_DIR"
#define GROUP_ANNOTATION_1 "io.containerd.runc.v2.group"
#define GROUP_ANNOTATION_2 "io.kubernetes.cri.sandbox-id"
#define ADMIN_SERVICE "hutch.shim.v1.Admin"
#define ADMIN_DELETE "Delete"
#define NAMESPACE_KEY "containerd-namespace-ttrpc"
#define MESSAGE_LENGTH_MAX (4u << 20)
/* containerd kills `delete` after 5 s; leave time for the Node fallback. */
#define ADMIN_TIMEOUT_MS 3000
/* Keep in step with shim/task/paths.ts, plugins/config.ts and shim/cli/grouping.ts. */
#define DEFAULT_SHIM_ROOT "/run/hutch"
#define SHIM_ROOT_ENV "HUTCH_SHIM_ROOT"
#define CONFIG_DIR "/etc/hutch"
#define CONFIG_ENV "HUTCH_CONFIG"
#define GROUPING_CACHE "shim-grouping"

enum { GROUP_CONTAINER, GROUP_POD, GROUP_NAMESPACE, GROUP_AUTO };

/* grouping.c: the state root; the `shim.group` policy in force, or -1: cannot tell. */
const char *state_root(void);
int grouping_policy(void);

/* gone.c: 1 when nothing of the container is left to clean up, 0 if something is, -1: cannot tell. */
int container_gone(const char *ns, const char *id, const char *bundle);
#define GONE_RESPONSE_MAX 64
/* the DeleteResponse for a container that is gone: { exit_status 137, exited_at now } */
size_t gone_delete_response(uint8_t out[GONE_RESPONSE_MAX]);

/* The command line as containerd passes it (main.c parses it as Go's flag package). */
struct shim_flags {
  const char *namespace;
  const char *address;
  const char *publish_binary;
  const char *id;
  const char *bundle;
  const char *action;
  int debug;
};

/* serve.c: start a server for the group natively and exit; returns only if it could not. */
void native_start(const struct shim_flags *f, const char *bundle, const char *socket_path, const char *address, size_t address_len);

/* sha256.c */
void sha256_hex(const void *data, size_t len, char out[65]);

/*
 * spec.c: the group annotation of <bundle>/config.json, read as JSON.parse would.
 * 1: found (*group malloc'd); 0: none (the container is its own group);
 * -1: cannot tell (unreadable, malformed, odd encoding): let the JS shim decide.
 */
int group_annotation(const char *bundle, char **group);

/* admin.c: the DeleteResponse bytes from the shim at `socket_path`, or -1. */
int admin_delete(const char *socket_path, const char *id, const char *bundle, const char *ns, uint8_t **out, size_t *out_len);

/* util.c */
char *path_join_clean(const char *a, const char *b, const char *c);
char *read_file(const char *path, size_t max, size_t *len);
int write_all(int fd, const void *buf, size_t len);
int read_full(int fd, void *buf, size_t len);
int connect_unix(const char *path, int timeout_ms);
int write_file_atomic(const char *dir, const char *name, const char *tmp_name, const char *data, size_t len);
_Noreturn void exec_node(int argc, char **argv);
/* Execs `node --no-warnings <main_js> <extra...>` (node by path, else searched on PATH),
 * the argv built in `args`, which has room for nextra + 4. Returns only if the exec
 * failed, with errno set. */
void exec_js_shim(const char *node, const char *main_js, const char *const *extra, int nextra, const char **args);
/* The answer to `start`: writes <bundle>/address, prints the address, exits 0 (1 if the
 * print fails). If the write fails it returns, so the JS shim can try, unless the
 * caller is `committed` (it already spawned the group's server): then it exits 1. */
void answer_start(const char *bundle, const char *address, size_t len, int committed);
int js_main(char *out, size_t size);
const char *node_binary(void);
/* Unsets what Node would pay for at start-up and hutch does not use (NODE_EXTRA_CA_CERTS). */
void drop_unused_node_settings(void);

#endif
