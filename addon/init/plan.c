/* Decoding of the launch plan (see plan_format.h). The buffer outlives the
 * process, so strings point straight into it. */
#include "init.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cursor {
  const uint8_t *p;
  const uint8_t *end;
};

struct record {
  uint16_t tag;
  uint32_t len;
  const uint8_t *data;
};

static int next_record(struct cursor *c, struct record *r) {
  if (c->p == c->end) return 0;
  if (c->end - c->p < 8) fail("plan", EINVAL, "truncated record header");
  uint16_t tag;
  uint32_t len;
  memcpy(&tag, c->p, 2);
  memcpy(&len, c->p + 4, 4);
  if ((size_t)(c->end - c->p - 8) < len) fail("plan", EINVAL, "record %u overruns the plan", tag);
  r->tag = tag;
  r->len = len;
  r->data = c->p + 8;
  c->p += 8 + len;
  return 1;
}

static uint64_t as_u64(const struct record *r) {
  uint64_t v;
  if (r->len != 8) fail("plan", EINVAL, "record %u: want 8 bytes, got %u", r->tag, r->len);
  memcpy(&v, r->data, 8);
  return v;
}

static const char *as_str(const struct record *r) {
  if (r->len == 0 || r->data[r->len - 1] != 0) fail("plan", EINVAL, "record %u: string not terminated", r->tag);
  return (const char *)r->data;
}

static struct cursor inner(const struct record *r) {
  struct cursor c = {r->data, r->data + r->len};
  return c;
}

/* Appends one element of `size` bytes to a malloc'd array, returning the new slot. */
static void *grow(void *arrayp, int *count, size_t size) {
  void **array = arrayp;
  *array = realloc(*array, size * (size_t)(*count + 1));
  if (!*array) fail("plan", ENOMEM, "out of memory");
  void *slot = (char *)*array + size * (size_t)(*count);
  memset(slot, 0, size);
  (*count)++;
  return slot;
}

/* NULL-terminated string vectors. */
static void push_str(char ***vec, int *count, const char *s) {
  *vec = realloc(*vec, sizeof(char *) * (size_t)(*count + 2));
  if (!*vec) fail("plan", ENOMEM, "out of memory");
  (*vec)[(*count)++] = (char *)s;
  (*vec)[*count] = NULL;
}

static void parse_join(struct plan *plan, const struct record *r) {
  if (plan->njoins == MAX_JOINS) fail("plan", E2BIG, "too many namespaces to join");
  struct plan_join *j = &plan->joins[plan->njoins++];
  struct cursor c = inner(r);
  struct record f;
  while (next_record(&c, &f)) {
    if (f.tag == T_NS_TYPE) j->type = as_u64(&f);
    else if (f.tag == T_NS_PATH) j->path = as_str(&f);
  }
  if (!j->path) fail("plan", EINVAL, "namespace join without a path");
}

static void parse_mount(struct plan *plan, const struct record *r) {
  struct plan_mount *m = grow(&plan->mounts, &plan->nmounts, sizeof *m);
  struct cursor c = inner(r);
  struct record f;
  while (next_record(&c, &f)) {
    switch (f.tag) {
      case T_M_KIND: m->kind = as_u64(&f); break;
      case T_M_SOURCE: m->source = as_str(&f); break;
      case T_M_TARGET: m->target = as_str(&f); break;
      case T_M_FSTYPE: m->fstype = as_str(&f); break;
      case T_M_FLAGS: m->flags = as_u64(&f); break;
      case T_M_PROPAGATION: m->propagation = as_u64(&f); break;
      case T_M_DATA: m->data = as_str(&f); break;
      case T_M_ATTR_SET: m->attr_set = as_u64(&f); break;
      case T_M_ATTR_CLR: m->attr_clr = as_u64(&f); break;
      case T_M_REMOUNT_LATE: m->remount_late = (int)as_u64(&f); break;
      case T_M_COPY_UP: m->copy_up = (int)as_u64(&f); break;
      default: break;
    }
  }
  if (!m->target) fail("plan", EINVAL, "mount without a target");
}

static void parse_device(struct plan *plan, const struct record *r) {
  struct plan_device *d = grow(&plan->devices, &plan->ndevices, sizeof *d);
  struct cursor c = inner(r);
  struct record f;
  while (next_record(&c, &f)) {
    switch (f.tag) {
      case T_D_PATH: d->path = as_str(&f); break;
      case T_D_TYPE: d->type = as_u64(&f); break;
      case T_D_MAJOR: d->major = as_u64(&f); break;
      case T_D_MINOR: d->minor = as_u64(&f); break;
      case T_D_MODE: d->mode = as_u64(&f); break;
      case T_D_UID: d->uid = as_u64(&f); break;
      case T_D_GID: d->gid = as_u64(&f); break;
      default: break;
    }
  }
  if (!d->path) fail("plan", EINVAL, "device without a path");
}

static void parse_sysctl(struct plan *plan, const struct record *r) {
  struct plan_kv *kv = grow(&plan->sysctls, &plan->nsysctls, sizeof *kv);
  struct cursor c = inner(r);
  struct record f;
  while (next_record(&c, &f)) {
    if (f.tag == T_KEY) kv->key = as_str(&f);
    else if (f.tag == T_VALUE) kv->value = as_str(&f);
  }
  if (!kv->key || !kv->value) fail("plan", EINVAL, "sysctl without key or value");
}

static void parse_rlimit(struct plan *plan, const struct record *r) {
  struct plan_rlimit *rl = grow(&plan->rlimits, &plan->nrlimits, sizeof *rl);
  struct cursor c = inner(r);
  struct record f;
  while (next_record(&c, &f)) {
    if (f.tag == T_RL_RESOURCE) rl->resource = as_u64(&f);
    else if (f.tag == T_RL_SOFT) rl->soft = as_u64(&f);
    else if (f.tag == T_RL_HARD) rl->hard = as_u64(&f);
    else if (f.tag == T_RL_NAME) rl->name = as_str(&f);
  }
}

static void parse_hook(struct plan_hook **hooks, int *n, const struct record *r) {
  struct plan_hook *h = grow(hooks, n, sizeof *h);
  int argc = 0, envc = 0;
  struct cursor c = inner(r);
  struct record f;
  while (next_record(&c, &f)) {
    switch (f.tag) {
      case T_H_PATH: h->path = as_str(&f); break;
      case T_H_ARG: push_str(&h->argv, &argc, as_str(&f)); break;
      case T_H_ENV: push_str(&h->envp, &envc, as_str(&f)); break;
      case T_H_HAS_ENV: h->has_env = (int)as_u64(&f); break;
      case T_H_TIMEOUT: h->timeout = as_u64(&f); break;
      default: break;
    }
  }
  if (!h->path) fail("plan", EINVAL, "hook without a path");
  if (!h->argv) push_str(&h->argv, &argc, h->path);
  if (h->has_env && !h->envp) {
    h->envp = calloc(1, sizeof(char *)); /* an empty environment, not the inherited one */
    if (!h->envp) fail("plan", ENOMEM, "out of memory");
  }
}

void plan_parse(struct plan *plan, const uint8_t *buf, size_t len) {
  memset(plan, 0, sizeof *plan);
  plan->console_fd = -1;
  plan->exec_fifo_fd = -1;
  uint32_t magic, version;
  if (len < 8) fail("plan", EINVAL, "plan too short");
  memcpy(&magic, buf, 4);
  memcpy(&version, buf + 4, 4);
  if (magic != PLAN_MAGIC || version != PLAN_VERSION) fail("plan", EINVAL, "plan magic or version mismatch");
  struct cursor c = {buf + 8, buf + len};
  struct record r;
  int ngroups = 0;
  while (next_record(&c, &r)) {
    switch (r.tag) {
      case T_UNSHARE_FLAGS: plan->unshare_flags = as_u64(&r); break;
      case T_JOIN_NS: parse_join(plan, &r); break;
      case T_NEED_IDMAP: plan->need_idmap = (int)as_u64(&r); break;
      case T_TIMENS_OFFSETS: plan->timens_offsets = as_str(&r); break;
      case T_SETUP_ROOTFS: plan->setup_rootfs = (int)as_u64(&r); break;
      case T_ROOTFS: plan->rootfs = as_str(&r); break;
      case T_ROOTFS_PROPAGATION: plan->rootfs_propagation = as_u64(&r); break;
      case T_ROOT_READONLY: plan->root_readonly = (int)as_u64(&r); break;
      case T_NO_PIVOT: plan->no_pivot = (int)as_u64(&r); break;
      case T_MOUNT: parse_mount(plan, &r); break;
      case T_DEFAULT_DEVICES: plan->default_devices = (int)as_u64(&r); break;
      case T_BIND_DEVICES: plan->bind_devices = (int)as_u64(&r); break;
      case T_DEVICE: parse_device(plan, &r); break;
      case T_MASKED_PATH: push_str((char ***)&plan->masked, &plan->nmasked, as_str(&r)); break;
      case T_READONLY_PATH: push_str((char ***)&plan->readonly, &plan->nreadonly, as_str(&r)); break;
      case T_HOSTNAME: plan->hostname = as_str(&r); break;
      case T_DOMAINNAME: plan->domainname = as_str(&r); break;
      case T_SYSCTL: parse_sysctl(plan, &r); break;
      case T_RLIMIT: parse_rlimit(plan, &r); break;
      case T_OOM_SCORE_ADJ: plan->has_oom_score_adj = 1; plan->oom_score_adj = (int64_t)as_u64(&r); break;
      case T_PERSONALITY: plan->has_personality = 1; plan->personality = as_u64(&r); break;
      case T_ARG: push_str(&plan->argv, &plan->argc, as_str(&r)); break;
      case T_ENV: push_str(&plan->envp, &plan->envc, as_str(&r)); break;
      case T_CWD: plan->cwd = as_str(&r); break;
      case T_LOOKUP_PATH: plan->lookup_path = as_str(&r); break;
      case T_UID: plan->uid = as_u64(&r); break;
      case T_GID: plan->gid = as_u64(&r); break;
      case T_ADDITIONAL_GID: {
        gid_t *slot = grow(&plan->groups, &ngroups, sizeof(gid_t));
        *slot = (gid_t)as_u64(&r);
        plan->ngroups = ngroups;
        break;
      }
      case T_SETGROUPS: plan->setgroups_allowed = (int)as_u64(&r); break;
      case T_UMASK: plan->has_umask = 1; plan->umask = as_u64(&r); break;
      case T_CAPS_BOUNDING: plan->cap_bounding = as_u64(&r); break;
      case T_CAPS_EFFECTIVE: plan->cap_effective = as_u64(&r); break;
      case T_CAPS_PERMITTED: plan->cap_permitted = as_u64(&r); break;
      case T_CAPS_INHERITABLE: plan->cap_inheritable = as_u64(&r); break;
      case T_CAPS_AMBIENT: plan->cap_ambient = as_u64(&r); break;
      case T_NO_NEW_PRIVS: plan->no_new_privs = (int)as_u64(&r); break;
      case T_SECCOMP_BPF: plan->seccomp_bpf = r.data; plan->seccomp_len = r.len; break;
      case T_SECCOMP_FLAGS: plan->seccomp_flags = as_u64(&r); break;
      case T_SECCOMP_NOTIFY: plan->seccomp_notify = (int)as_u64(&r); break;
      case T_EXEC_FIFO_FD: plan->exec_fifo_fd = (int)as_u64(&r); break;
      case T_CONSOLE_FD: plan->console_fd = (int)as_u64(&r); break;
      case T_CONSOLE_SIZE: {
        uint64_t v = as_u64(&r);
        plan->console_rows = (unsigned)(v >> 16) & 0xffff;
        plan->console_cols = (unsigned)v & 0xffff;
        break;
      }
      case T_PRESERVE_FDS: plan->preserve_fds = (int)as_u64(&r); break;
      case T_HOOK_CREATE_CONTAINER: parse_hook(&plan->hooks_create_container, &plan->nhooks_create_container, &r); break;
      case T_HOOK_START_CONTAINER: parse_hook(&plan->hooks_start_container, &plan->nhooks_start_container, &r); break;
      case T_FORK_FOR_EXEC: plan->fork_for_exec = (int)as_u64(&r); break;
      case T_PDEATH_SIGNAL: plan->pdeath_signal = as_u64(&r); break;
      case T_SESSION_KEYRING: plan->session_keyring = as_str(&r); break;
      case T_LOOPBACK_UP: plan->loopback_up = (int)as_u64(&r); break;
      default: break; /* unknown records are skipped: newer TypeScript, older init */
    }
  }
  if (!plan->argv) fail("plan", EINVAL, "process.args is empty");
  if (!plan->envp) {
    plan->envp = calloc(1, sizeof(char *));
    if (!plan->envp) fail("plan", ENOMEM, "out of memory");
  }
}
