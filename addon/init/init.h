/*
 * hutch-init: the single-threaded helper that becomes a container's first process.
 * It reads the launch plan (plan_format.h) from the sync socket and carries it out
 * with raw syscalls. It decides nothing a user could configure: every choice was
 * made in TypeScript. Every failure reports { step, errno, detail } and exits.
 */
#ifndef HUTCH_INIT_H
#define HUTCH_INIT_H

#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "plan_format.h"

#define MAX_JOINS 16
#define MAX_HOOK_OUTPUT 4096

struct plan_join {
  uint64_t type;
  const char *path;
};

struct plan_mount {
  uint64_t kind;
  const char *source;
  const char *target;
  const char *fstype;
  const char *data;
  uint64_t flags;
  uint64_t propagation;
  uint64_t attr_set;
  uint64_t attr_clr;
  int remount_late;
  int copy_up;
};

struct plan_device {
  const char *path;
  uint64_t type;
  uint64_t major, minor, mode, uid, gid;
};

struct plan_kv {
  const char *key;
  const char *value;
};

struct plan_rlimit {
  uint64_t resource, soft, hard;
  const char *name;
};

struct plan_hook {
  const char *path;
  char **argv;
  char **envp;
  int has_env;
  uint64_t timeout;
};

/* A growable array of pointers or structs, allocated once while parsing. */
struct plan {
  uint64_t unshare_flags;
  struct plan_join joins[MAX_JOINS];
  int njoins;
  int need_idmap;
  const char *timens_offsets;

  int setup_rootfs;
  const char *rootfs;
  uint64_t rootfs_propagation;
  int root_readonly;
  int no_pivot;
  struct plan_mount *mounts;
  int nmounts;
  int default_devices;
  int bind_devices;
  struct plan_device *devices;
  int ndevices;
  const char **masked;
  int nmasked;
  const char **readonly;
  int nreadonly;

  const char *hostname;
  const char *domainname;
  struct plan_kv *sysctls;
  int nsysctls;
  struct plan_rlimit *rlimits;
  int nrlimits;
  int has_oom_score_adj;
  int64_t oom_score_adj;
  int has_personality;
  uint64_t personality;

  char **argv;
  int argc;
  char **envp;
  int envc;
  const char *cwd;
  const char *lookup_path;
  uint64_t uid, gid;
  gid_t *groups;
  int ngroups;
  int setgroups_allowed;
  int has_umask;
  uint64_t umask;
  uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
  int no_new_privs;
  const uint8_t *seccomp_bpf;
  size_t seccomp_len;
  uint64_t seccomp_flags;
  int seccomp_notify;

  int exec_fifo_fd;
  int console_fd;
  unsigned console_rows, console_cols;
  int preserve_fds;
  int fork_for_exec;
  uint64_t pdeath_signal;
  const char *session_keyring;
  int loopback_up;

  struct plan_hook *hooks_create_container;
  int nhooks_create_container;
  struct plan_hook *hooks_start_container;
  int nhooks_start_container;
};

/* plan.c */
void plan_parse(struct plan *plan, const uint8_t *buf, size_t len);

/* sync.c: framed messages to the parent, and the one way to fail */
extern int sync_fd;
void sync_send(uint32_t type, const void *data, uint32_t len);
void sync_send_fd(uint32_t type, int fd);
/* sendmsg of `data` with `fd` in SCM_RIGHTS, retried on EINTR; -1 with errno on failure. */
int send_fd(int sock, const void *data, size_t len, int fd);
/* Waits for a message of `type`; returns its payload (malloc'd, NUL-terminated) and length. */
uint8_t *sync_expect(uint32_t type, uint32_t *len);
__attribute__((noreturn, format(printf, 3, 4))) void fail(const char *step, int err, const char *fmt, ...);
/* Once the parent has gone (after `created`), failures go to stderr instead. */
void sync_detach(void);

/* namespaces.c */
void ns_enter(struct plan *plan);         /* joins, user ns + idmap, unshare, time offsets */
pid_t ns_spawn_init(struct plan *plan);   /* clone the init into the new pid ns (CLONE_PARENT) */

/* resolve.c: paths inside a root without following symlinks out of it */
int resolve_in_root(int rootfd, const char *path, int flags);
/* Creates missing directories of `path` inside root; creates the last component as a
 * directory (want_file = 0) or an empty file (want_file = 1) when missing. Returns O_PATH fd. */
int mkdir_all_in_root(int rootfd, const char *path, int want_file, const char *step);
/* "/proc/self/fd/N" for an fd, in a static buffer (one at a time per slot). */
const char *fd_path(int fd, int slot);

/* copyup.c */
void copy_directory(int src_dir, int dst_dir, const char *what);

/* mounts.c */
void mounts_apply(struct plan *plan, int rootfd);
void mounts_remount_late(struct plan *plan, int rootfd);
struct mount_attr;
void setattr_at(int fd, unsigned int at_flags, struct mount_attr *attr, const char *what);
void remount_readonly_at(int fd, const char *what, int recursive);

/* devices.c */
void devices_create(struct plan *plan, int rootfd);

/* rootfs.c */
void rootfs_prepare(struct plan *plan);
int rootfs_open(struct plan *plan);
void rootfs_pivot(struct plan *plan, int rootfd);
void rootfs_finish(struct plan *plan);

/* console.c */
void console_setup(struct plan *plan);

/* hooks.c */
void hooks_run(struct plan_hook *hooks, int n, const char *state_json, const char *stage);

/* process.c */
void process_early(struct plan *plan, int host_proc_fd); /* oom_score_adj, rlimits, personality, keyring */
void process_system(struct plan *plan);                 /* hostname, domainname, sysctls */
const char *process_lookup(struct plan *plan);           /* args[0] -> absolute path or fail */
void process_seccomp_early(struct plan *plan);
__attribute__((noreturn)) void process_exec(struct plan *plan, const char *exe);

#endif
