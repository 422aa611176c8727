/*
 * hutch-init — started by the addon's launch() (clone3, then execveat of a sealed
 * copy of this binary), with the sync socket's fd number in argv[1].
 *
 * Stages (the parent drives each step over the sync socket; see plan_format.h):
 *   stage 0  read the plan; join/create namespaces (user first, maps from the parent);
 *            clone the init into the new pid/time namespaces; report its pid; exit.
 *   init     prepare the rootfs (mounts, devices) -> at-createRuntime -> wait for go
 *            -> createContainer hooks -> pivot_root -> console, hostname, sysctls,
 *            masked/readonly paths -> created -> block on exec.fifo until `start`
 *            -> startContainer hooks -> user, caps, seccomp -> execve.
 *   exec     (fork_for_exec: a new process in a running container) stage 0 joins the
 *            container's namespaces and clones this child into them; it does no rootfs
 *            work and runs no hooks: console -> exec-started -> user, caps, seccomp
 *            -> execve. The sync socket closes on execve: that EOF tells the parent
 *            the program runs; a failure before it arrives as an error message.
 * Not dumpable until execve, so the container cannot reach this process' memory or
 * /proc/<pid>/exe while it works.
 */
#include "init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Blocks until `start` opens the fifo for reading, then tells it we are going. */
static void wait_for_start(int host_proc_fd, int fifo_fd) {
  char path[64];
  snprintf(path, sizeof path, "self/fd/%d", fifo_fd);
  int fd = openat(host_proc_fd, path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) fail("exec fifo", errno, "open exec.fifo for writing");
  if (write(fd, "0", 1) != 1) fail("exec fifo", errno, "write exec.fifo");
  close(fd);
  close(fifo_fd);
}

/* The opening shared by the init and an exec: wait for the parent's go-ahead, then the
 * per-process settings that precede any rootfs or console work. */
static void process_begin(struct plan *plan, int host_proc_fd) {
  free(sync_expect(MSG_CONTINUE, NULL));
  /* Set here: a clone does not inherit it. */
  if (plan->pdeath_signal && prctl(PR_SET_PDEATHSIG, (unsigned long)plan->pdeath_signal, 0, 0, 0) < 0)
    fail("pdeathsig", errno, "set the parent-death signal");
  process_early(plan, host_proc_fd);
}

static void container_init(struct plan *plan, int host_proc_fd) {
  process_begin(plan, host_proc_fd);
  int fifo_fd = plan->exec_fifo_fd;
  int rootfd = -1;
  if (plan->setup_rootfs) {
    rootfs_prepare(plan);
    rootfd = rootfs_open(plan);
    mounts_apply(plan, rootfd);
    devices_create(plan, rootfd);
  }
  sync_send(MSG_AT_CREATE_RUNTIME, NULL, 0);
  uint32_t len;
  char *states = (char *)sync_expect(MSG_GO, &len);
  const char *create_state = states;
  const char *start_state = states + strlen(states) + 1 <= states + len ? states + strlen(states) + 1 : "";
  if (plan->nhooks_create_container) {
    if (rootfd >= 0 && fchdir(rootfd) < 0) fail("hook", errno, "chdir to the rootfs");
    hooks_run(plan->hooks_create_container, plan->nhooks_create_container, create_state, "createContainer");
  }
  if (plan->setup_rootfs) rootfs_pivot(plan, rootfd);
  console_setup(plan);
  process_system(plan);
  if (plan->setup_rootfs) rootfs_finish(plan);
  const char *exe = process_lookup(plan);
  process_seccomp_early(plan);
  sync_send(MSG_CREATED, NULL, 0);
  sync_detach();
  if (fifo_fd >= 0) wait_for_start(host_proc_fd, fifo_fd);
  close(host_proc_fd);
  hooks_run(plan->hooks_start_container, plan->nhooks_start_container, start_state, "startContainer");
  process_exec(plan, exe);
}

static void exec_process(struct plan *plan, int host_proc_fd) {
  process_begin(plan, host_proc_fd);
  close(host_proc_fd);
  console_setup(plan);
  const char *exe = process_lookup(plan);
  process_seccomp_early(plan);
  sync_send(MSG_EXEC_STARTED, NULL, 0);
  /* not detached: a failure from here to execve still reaches the parent */
  process_exec(plan, exe);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "hutch-init: started by hutch, not by hand\n");
    return 2;
  }
  sync_fd = atoi(argv[1]);
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* The sync socket is the last fd we were given; anything above leaked from a caller. */
  syscall(SYS_close_range, (unsigned)sync_fd + 1, ~0U, 0);
  uint32_t len;
  uint8_t *buf = sync_expect(MSG_PLAN, &len);
  struct plan plan;
  plan_parse(&plan, buf, len);
  int host_proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (host_proc_fd < 0) fail("proc", errno, "open /proc");
  ns_enter(&plan);
  pid_t init = ns_spawn_init(&plan);
  if (init > 0) {
    uint32_t pid = (uint32_t)init;
    sync_send(MSG_INIT_PID, &pid, sizeof pid);
    _exit(0);
  }
  if (plan.fork_for_exec) exec_process(&plan, host_proc_fd);
  container_init(&plan, host_proc_fd);
  return 1;
}
