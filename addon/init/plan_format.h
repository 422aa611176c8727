/*
 * The launch plan wire format: what TypeScript (addon/plan-codec.ts) writes and
 * hutch-init reads. A plan is a header followed by TLV records:
 *   u32 magic "HUTP", u32 version, then records of { u16 tag, u16 zero, u32 len, bytes[len] }.
 * Integers are little-endian u64 (I64 fields reinterpret the bits); strings carry
 * their NUL; compound records (mounts, devices, hooks, ...) hold nested TLVs.
 * Keep this file and addon/plan-codec.ts in step: a unit test compares them.
 */
#ifndef HUTCH_PLAN_FORMAT_H
#define HUTCH_PLAN_FORMAT_H

#define PLAN_MAGIC 0x50545548u /* "HUTP" */
#define PLAN_VERSION 1u

/* top-level records */
#define T_UNSHARE_FLAGS 1      /* u64 CLONE_NEW* to create */
#define T_JOIN_NS 2            /* compound: T_NS_TYPE, T_NS_PATH */
#define T_NEED_IDMAP 3         /* u64 bool: ask the parent to write uid/gid maps */
#define T_TIMENS_OFFSETS 4     /* string written to /proc/self/timens_offsets */
#define T_ROOTFS 5             /* string: absolute host path */
#define T_ROOTFS_PROPAGATION 6 /* u64 MS_* propagation for "/" */
#define T_ROOT_READONLY 7      /* u64 bool */
#define T_NO_PIVOT 8           /* u64 bool */
#define T_MOUNT 9              /* compound: T_M_* */
#define T_DEFAULT_DEVICES 10   /* u64 bool: create /dev/null etc. and /dev links */
#define T_BIND_DEVICES 11      /* u64 bool: bind host nodes instead of mknod (user ns) */
#define T_DEVICE 12            /* compound: T_D_* */
#define T_MASKED_PATH 13       /* string */
#define T_READONLY_PATH 14     /* string */
#define T_HOSTNAME 15          /* string */
#define T_DOMAINNAME 16        /* string */
#define T_SYSCTL 17            /* compound: T_KEY (path under /proc/sys), T_VALUE */
#define T_RLIMIT 18            /* compound: T_RL_RESOURCE, T_RL_SOFT, T_RL_HARD */
#define T_OOM_SCORE_ADJ 19     /* i64 */
#define T_ARG 20               /* string, repeated in order */
#define T_ENV 21               /* string "K=V", repeated */
#define T_CWD 22               /* string */
#define T_UID 23               /* u64 */
#define T_GID 24               /* u64 */
#define T_ADDITIONAL_GID 25    /* u64, repeated */
#define T_UMASK 26             /* u64 */
#define T_CAPS_BOUNDING 27     /* u64 bitmask */
#define T_CAPS_EFFECTIVE 28
#define T_CAPS_PERMITTED 29
#define T_CAPS_INHERITABLE 30
#define T_CAPS_AMBIENT 31
#define T_NO_NEW_PRIVS 32      /* u64 bool */
#define T_SECCOMP_BPF 33       /* bytes: struct sock_filter[] */
#define T_SECCOMP_FLAGS 34     /* u64 SECCOMP_FILTER_FLAG_* */
#define T_SECCOMP_NOTIFY 35    /* u64 bool: filter has SCMP_ACT_NOTIFY, send the listener fd */
#define T_EXEC_FIFO_FD 36      /* u64 fd: exec.fifo opened O_PATH by the parent (the init may not reach the state dir) */
#define T_CONSOLE_FD 37        /* u64 fd of the connected console socket */
#define T_CONSOLE_SIZE 38      /* u64 (rows << 16) | cols */
#define T_PRESERVE_FDS 39      /* u64 */
#define T_HOOK_CREATE_CONTAINER 40 /* compound: T_H_* */
#define T_HOOK_START_CONTAINER 41  /* compound: T_H_* */
#define T_SYNC_FD 42           /* u64 */
#define T_SETUP_ROOTFS 43      /* u64 bool: mount namespace work to do */
#define T_SETGROUPS 44         /* u64 bool: setgroups() allowed (not denied in a user ns) */
#define T_LOOKUP_PATH 45       /* string: PATH used to find args[0] */
#define T_EXEC_FAIL_FD 46      /* unused, reserved */
#define T_FORK_FOR_EXEC 47     /* u64 bool: joining a running container (exec), no rootfs */
#define T_PDEATH_SIGNAL 48     /* u64 */
#define T_APPARMOR 49          /* reserved */
#define T_PERSONALITY 50       /* u64 personality(2) domain */
#define T_SESSION_KEYRING 51   /* string: join a new session keyring of this name */
#define T_LOOPBACK_UP 52       /* u64 bool: bring "lo" up (a new network namespace, as runc does) */

/* T_JOIN_NS fields */
#define T_NS_TYPE 1 /* u64 CLONE_NEW* */
#define T_NS_PATH 2 /* string */

/* T_MOUNT fields */
#define T_M_KIND 1        /* u64 MOUNT_KIND_* */
#define T_M_SOURCE 2      /* string */
#define T_M_TARGET 3      /* string, absolute inside the rootfs */
#define T_M_FSTYPE 4      /* string */
#define T_M_FLAGS 5       /* u64 MS_* for mount(2) */
#define T_M_PROPAGATION 6 /* u64 MS_* propagation, applied after */
#define T_M_DATA 7        /* string */
#define T_M_ATTR_SET 8    /* u64 MOUNT_ATTR_* for mount_setattr(AT_RECURSIVE) */
#define T_M_ATTR_CLR 9    /* u64 */
#define T_M_REMOUNT_LATE 10 /* u64 bool: mount rw now, remount ro after devices */
#define T_M_COPY_UP 11    /* u64 bool: tmpcopyup, fill the new tmpfs from the directory below */

#define MOUNT_KIND_FS 1      /* mount(source, target, fstype, flags, data) */
#define MOUNT_KIND_BIND 2    /* bind (MS_REC in flags for rbind), then remount with flags */
#define MOUNT_KIND_SYMLINK 3 /* symlink(source, target) */
#define MOUNT_KIND_MKDIR 4   /* mkdir -p target */

/* T_DEVICE fields */
#define T_D_PATH 1  /* string, absolute inside the rootfs */
#define T_D_TYPE 2  /* u64 S_IFCHR | S_IFBLK | S_IFIFO */
#define T_D_MAJOR 3
#define T_D_MINOR 4
#define T_D_MODE 5  /* permission bits */
#define T_D_UID 6
#define T_D_GID 7

/* T_SYSCTL fields */
#define T_KEY 1
#define T_VALUE 2

/* T_RLIMIT fields */
#define T_RL_RESOURCE 1
#define T_RL_SOFT 2
#define T_RL_HARD 3
#define T_RL_NAME 4 /* string, for error messages */

/* hook fields */
#define T_H_PATH 1
#define T_H_ARG 2     /* repeated */
#define T_H_ENV 3     /* repeated */
#define T_H_HAS_ENV 4 /* u64 bool: env given (else inherit) */
#define T_H_TIMEOUT 5 /* u64 seconds, 0 = none */

/* sync messages: { u32 type, u32 len, payload } on the socketpair */
#define MSG_PLAN 1            /* parent -> child: the plan */
#define MSG_IDMAP_REQUEST 2   /* child -> parent: u32 pid; write maps for it */
#define MSG_IDMAP_DONE 3      /* parent -> child */
#define MSG_INIT_PID 4        /* child -> parent: u32 pid of the container init */
#define MSG_CONTINUE 5        /* parent -> child: pid recorded, go on */
#define MSG_AT_CREATE_RUNTIME 6 /* child -> parent: mounts ready, run createRuntime */
#define MSG_GO 7              /* parent -> child: two state JSONs, NUL separated */
#define MSG_SECCOMP_FD 8      /* child -> parent: listener fd via SCM_RIGHTS */
#define MSG_CREATED 9         /* child -> parent: waiting on exec.fifo */
#define MSG_ERROR 10          /* child -> parent: i32 errno, step\0, detail\0 */
#define MSG_EXEC_STARTED 11   /* child -> parent (exec): about to execve */
#define MSG_CGROUP_READY 12   /* parent -> child: the first process is in its cgroup; it may now clone
                               * the container's process (sent whenever the attach is done, so it may
                               * arrive while stage 0 waits for IDMAP_DONE) */

#endif
