/*
 * Namespace entry, in the order runc's nsexec uses and for the same reasons:
 *  1. open every namespace path to join before joining any (joining a mount ns
 *     changes what paths mean);
 *  2. join or create the user namespace first, so the other namespaces are owned
 *     by it and we hold capabilities over them; the parent writes uid/gid maps;
 *  3. unshare the rest; the pid and time namespaces only apply to children, so
 *  4. clone the container init into them with CLONE_PARENT: it becomes a child of
 *     the runtime (which reaps it), and this process exits.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char *ns_name(uint64_t type) {
  switch (type) {
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWNS: return "mount";
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWNET: return "network";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWCGROUP: return "cgroup";
    case CLONE_NEWTIME: return "time";
    default: return "unknown";
  }
}

static void become_root(void) {
  if (setresgid(0, 0, 0) < 0) fail("setresgid", errno, "become root in the user namespace (gid 0 mapped?)");
  if (setresuid(0, 0, 0) < 0) fail("setresuid", errno, "become root in the user namespace (uid 0 mapped?)");
}

static void join_all(struct plan *plan) {
  int fds[MAX_JOINS];
  for (int i = 0; i < plan->njoins; i++) {
    fds[i] = open(plan->joins[i].path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) fail("join namespace", errno, "open %s namespace %s", ns_name(plan->joins[i].type), plan->joins[i].path);
  }
  /* user first: the others may be owned by it */
  for (int pass = 0; pass < 2; pass++) {
    for (int i = 0; i < plan->njoins; i++) {
      int is_user = plan->joins[i].type == CLONE_NEWUSER;
      if (is_user != (pass == 0)) continue;
      if (setns(fds[i], (int)plan->joins[i].type) < 0)
        fail("join namespace", errno, "setns %s namespace %s", ns_name(plan->joins[i].type), plan->joins[i].path);
      close(fds[i]);
      if (is_user) become_root();
    }
  }
}

static void create_user_ns(struct plan *plan) {
  if (unshare(CLONE_NEWUSER) < 0) fail("unshare", errno, "create user namespace");
  if (plan->need_idmap) {
    /* The parent may be unprivileged (rootless): /proc/self/uid_map must be ours to write. */
    prctl(PR_SET_DUMPABLE, 1);
    uint32_t pid = (uint32_t)getpid();
    sync_send(MSG_IDMAP_REQUEST, &pid, sizeof pid);
    free(sync_expect(MSG_IDMAP_DONE, NULL));
    prctl(PR_SET_DUMPABLE, 0);
  }
  become_root();
}

static void write_time_offsets(const char *offsets) {
  int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("time namespace", errno, "open /proc/self/timens_offsets");
  ssize_t n = write(fd, offsets, strlen(offsets));
  if (n < 0) fail("time namespace", errno, "write time offsets \"%s\"", offsets);
  close(fd);
}

void ns_enter(struct plan *plan) {
  join_all(plan);
  if (plan->unshare_flags & CLONE_NEWUSER) create_user_ns(plan);
  /* The parent attaches us to the cgroup meanwhile (a v1 attach waits for an RCU grace
   * period): namespaces are made while it does, except the cgroup namespace, whose root
   * is our cgroup at the time. Nothing of the container runs before the clone below. */
  uint64_t rest = plan->unshare_flags & ~(uint64_t)(CLONE_NEWUSER | CLONE_NEWCGROUP);
  if (rest && unshare((int)rest) < 0) fail("unshare", errno, "create namespaces (flags 0x%llx)", (unsigned long long)rest);
  if (plan->timens_offsets) write_time_offsets(plan->timens_offsets);
  free(sync_expect(MSG_CGROUP_READY, NULL));
  if ((plan->unshare_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) fail("unshare", errno, "create cgroup namespace");
}

pid_t ns_spawn_init(struct plan *plan) {
  (void)plan;
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_PARENT;
  /* With CLONE_PARENT the kernel uses our own exit signal (SIGCHLD) for the child. */
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) fail("clone", errno, "start the container init");
  return (pid_t)pid;
}
