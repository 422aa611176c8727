/* The process side of the plan: limits, system settings, and the final switch to the
 * user's program — user, capabilities, no_new_privs, seccomp, fds, execve — in the
 * order runc uses (bounding set while we still hold CAP_SETPCAP; keep caps across
 * setuid; a seccomp filter without no_new_privs before giving up CAP_SYS_ADMIN). */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

static void write_file_at(int dirfd, const char *path, const char *value, const char *step, const char *what) {
  int fd = openat(dirfd, path, O_WRONLY | O_CLOEXEC | O_TRUNC);
  if (fd < 0) fail(step, errno, "open %s", what);
  size_t len = strlen(value);
  if (write(fd, value, len) != (ssize_t)len) fail(step, errno, "write %s = %s", what, value);
  close(fd);
}

/* A session keyring of the container's own, so it cannot see or use the caller's keys
 * (runc's behaviour unless --no-new-keyring). Kernels without keyrings: best effort. */
static void join_session_keyring(const char *name) {
  long key = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
  if (key < 0) {
    if (errno == ENOSYS) return;
    fail("keyring", errno, "join session keyring %s", name);
  }
  char desc[256];
  long n = syscall(SYS_keyctl, KEYCTL_DESCRIBE, key, desc, sizeof desc - 1, 0);
  if (n < 0) fail("keyring", errno, "describe session keyring");
  desc[n < (long)sizeof desc ? n : (long)sizeof desc - 1] = 0;
  /* "type;uid;gid;perm;description": make it searchable by its possessor's user */
  char *p = desc;
  for (int field = 0; field < 3 && p; field++) p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL;
  unsigned long perm = p ? strtoul(p, NULL, 16) : 0x3f010000;
  if (syscall(SYS_keyctl, KEYCTL_SETPERM, key, perm | 0x080000, 0, 0) < 0) fail("keyring", errno, "set session keyring permissions");
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail("loopback", errno, "socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) fail("loopback", errno, "get flags of lo");
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) fail("loopback", errno, "bring lo up");
  close(s);
}

void process_early(struct plan *plan, int host_proc_fd) {
  if (plan->session_keyring) join_session_keyring(plan->session_keyring);
  if (plan->loopback_up) loopback_up();
  if (plan->has_oom_score_adj) {
    char value[32];
    snprintf(value, sizeof value, "%lld", (long long)plan->oom_score_adj);
    write_file_at(host_proc_fd, "self/oom_score_adj", value, "oom_score_adj", "oom_score_adj");
  }
  for (int i = 0; i < plan->nrlimits; i++) {
    const struct plan_rlimit *rl = &plan->rlimits[i];
    struct rlimit lim = {.rlim_cur = rl->soft, .rlim_max = rl->hard};
    if (setrlimit((int)rl->resource, &lim) < 0)
      fail("rlimit", errno, "set %s (soft %llu, hard %llu)", rl->name ? rl->name : "rlimit", (unsigned long long)rl->soft,
           (unsigned long long)rl->hard);
  }
  if (plan->has_personality && personality((unsigned long)plan->personality) < 0)
    fail("personality", errno, "set personality 0x%llx", (unsigned long long)plan->personality);
}

void process_system(struct plan *plan) {
  if (plan->hostname && sethostname(plan->hostname, strlen(plan->hostname)) < 0)
    fail("hostname", errno, "set hostname \"%s\"", plan->hostname);
  if (plan->domainname && setdomainname(plan->domainname, strlen(plan->domainname)) < 0)
    fail("domainname", errno, "set domainname \"%s\"", plan->domainname);
  for (int i = 0; i < plan->nsysctls; i++) {
    char path[512];
    snprintf(path, sizeof path, "/proc/sys/%s", plan->sysctls[i].key);
    write_file_at(AT_FDCWD, path, plan->sysctls[i].value, "sysctl", path);
  }
}

static int is_executable(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

const char *process_lookup(struct plan *plan) {
  const char *name = plan->argv[0];
  if (strchr(name, '/')) {
    struct stat st;
    if (stat(name, &st) < 0) fail("exec", errno, "exec: \"%s\": stat %s", name, name);
    if (S_ISDIR(st.st_mode)) fail("exec", EACCES, "exec: \"%s\": is a directory", name);
    return name;
  }
  const char *path = plan->lookup_path ? plan->lookup_path : "";
  size_t name_len = strlen(name);
  while (*path) {
    const char *colon = strchr(path, ':');
    size_t dir_len = colon ? (size_t)(colon - path) : strlen(path);
    char *candidate = malloc(dir_len + name_len + 3);
    if (!candidate) fail("exec", ENOMEM, "out of memory");
    if (dir_len == 0) memcpy(candidate, ".", 2), dir_len = 1;
    else memcpy(candidate, path, dir_len), candidate[dir_len] = 0;
    candidate[dir_len] = '/';
    memcpy(candidate + dir_len + 1, name, name_len + 1);
    if (is_executable(candidate)) return candidate;
    free(candidate);
    path = colon ? colon + 1 : path + dir_len;
  }
  fail("exec", ENOENT, "exec: \"%s\": executable file not found in $PATH", name);
}

static void drop_bounding(uint64_t keep) {
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break; /* past the kernel's last capability */
      fail("capabilities", errno, "drop capability %d from the bounding set", cap);
    }
  }
}

static void set_caps(struct plan *plan) {
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(plan->cap_effective >> (32 * i));
    data[i].permitted = (uint32_t)(plan->cap_permitted >> (32 * i));
    data[i].inheritable = (uint32_t)(plan->cap_inheritable >> (32 * i));
  }
  if (syscall(SYS_capset, &header, data) < 0) fail("capabilities", errno, "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    fail("capabilities", errno, "clear ambient capabilities");
  for (int cap = 0; cap < 64; cap++) {
    if (!(plan->cap_ambient & (1ULL << cap))) continue;
    /* Like runc: a cap not also inheritable cannot be ambient; the spec asks, we try. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0 && errno != EPERM)
      fail("capabilities", errno, "raise ambient capability %d", cap);
  }
}

static void set_user(struct plan *plan) {
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) fail("user", errno, "keep capabilities across setuid");
  if (plan->setgroups_allowed && setgroups((size_t)plan->ngroups, plan->groups) < 0)
    fail("user", errno, "setgroups (additionalGids)");
  if (setresgid((gid_t)plan->gid, (gid_t)plan->gid, (gid_t)plan->gid) < 0)
    fail("user", errno, "setgid %llu", (unsigned long long)plan->gid);
  if (setresuid((uid_t)plan->uid, (uid_t)plan->uid, (uid_t)plan->uid) < 0)
    fail("user", errno, "setuid %llu", (unsigned long long)plan->uid);
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) fail("user", errno, "clear keep-capabilities");
}

static void load_seccomp(struct plan *plan) {
  struct sock_fprog prog = {
      .len = (unsigned short)(plan->seccomp_len / sizeof(struct sock_filter)),
      .filter = (struct sock_filter *)(uintptr_t)plan->seccomp_bpf,
  };
  unsigned int flags = (unsigned int)plan->seccomp_flags;
  if (plan->seccomp_notify) flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog);
  if (fd < 0) fail("seccomp", errno, "load the seccomp filter");
  if (plan->seccomp_notify) {
    sync_send_fd(MSG_SECCOMP_FD, (int)fd);
    close((int)fd);
  }
  plan->seccomp_bpf = NULL; /* loaded */
}

/* The notify listener must reach the parent while it still listens, so that filter
 * goes in before `created`; every other filter as late as possible. */
void process_seccomp_early(struct plan *plan) {
  if (plan->seccomp_bpf && plan->seccomp_notify) load_seccomp(plan);
}

void process_exec(struct plan *plan, const char *exe) {
  drop_bounding(plan->cap_bounding);
  if (plan->has_umask) umask((mode_t)plan->umask);
  if (plan->seccomp_bpf && !plan->no_new_privs) load_seccomp(plan);
  int cwd_done = plan->cwd && chdir(plan->cwd) == 0;
  set_user(plan);
  set_caps(plan);
  if (plan->cwd && !cwd_done && chdir(plan->cwd) < 0) fail("cwd", errno, "chdir to cwd \"%s\"", plan->cwd);
  if (plan->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) fail("no_new_privs", errno, "set no_new_privs");
  if (syscall(SYS_close_range, 3 + plan->preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
    fail("exec", errno, "mark fds close-on-exec");
  /* last: from here on only execve has to pass the filter */
  if (plan->seccomp_bpf) load_seccomp(plan);
  execve(exe, plan->argv, plan->envp);
  fail("exec", errno, "exec: \"%s\"", plan->argv[0]);
}
