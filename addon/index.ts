/**
 * The typed facade over the native addon — the only importer of the .node file.
 * Everything the kernel does for hutch goes through `NativeOps`, so policy code can
 * be unit-tested against a recording fake (test/fixtures/fake-native.ts).
 */
import * as path from 'node:path';

export interface ExitStatus {
  /** exit code when the process exited */
  code: number | null;
  /** signal number when it was killed */
  signal: number | null;
}

/** The process at the other end of a unix socket, as of connect(). */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
}

export interface ExitWatch {
  close(): void;
  ref(): void;
  unref(): void;
}

/** Numbers shared with addon/src/seccomp_compile.cc. */
export const enum SeccompAction {
  KillThread = 0,
  KillProcess = 1,
  Trap = 2,
  Errno = 3,
  Trace = 4,
  Allow = 5,
  Log = 6,
  Notify = 7,
}

/** libseccomp's enum scmp_compare. */
export const enum SeccompOp {
  NotEqual = 1,
  LessThan = 2,
  LessEqual = 3,
  Equal = 4,
  GreaterEqual = 5,
  GreaterThan = 6,
  MaskedEqual = 7,
}

export interface SeccompProgram {
  defaultAction: SeccompAction;
  defaultErrno: number;
  /** libseccomp arch names: "x86_64", "x86", "x32", "aarch64", ... */
  architectures: string[];
  syscalls: {
    names: string[];
    action: SeccompAction;
    errno: number;
    args: { index: number; value: bigint; valueTwo: bigint; op: SeccompOp }[];
  }[];
}

export interface LaunchOptions {
  /** fds[i] = our fd to appear as fd i in hutch-init (-1: closed) */
  fds: number[];
  /** arguments after argv[0] */
  args: string[];
  /** cgroup v2 directory fd: start the process in it (CLONE_INTO_CGROUP) */
  cgroupFd?: number;
}

/** One rule of a cgroup v2 device program (see addon/src/bpf_devices.cc). */
export interface BpfDeviceRule {
  type: 'a' | 'b' | 'c';
  /** -1: any */
  major: number;
  /** -1: any */
  minor: number;
  /** letters of "rwm" */
  access: string;
  allow: boolean;
}

export interface NativeOps {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  umount(target: string, flags?: number): void;
  mkfifo(path: string, mode: number): void;
  /** A pipe: [read end, write end], both close-on-exec. */
  pipe(): [number, number];
  /** Waits for the lock on the thread pool. */
  flock(fd: number, exclusive: boolean): Promise<void>;
  /** Tries once; false when someone else holds it. */
  flockNow(fd: number, exclusive: boolean): boolean;
  pidfdOpen(pid: number): number;
  pidfdSendSignal(pidfd: number, signal: number): void;
  /** waitid on a pidfd: null while still running; throws ECHILD when not our child. */
  reap(pidfd: number, block?: boolean): ExitStatus | null;
  /** Calls back once when the process exits (reaping it when `reap`; status null otherwise). */
  watchExit(pidfd: number, reap: boolean, onExit: (status: ExitStatus | null) => void): ExitWatch;
  /** Calls back each time `fd` is readable (or writable), until closed; status < 0 is a libuv error. */
  watchFd(fd: number, writable: boolean, onReady: (status: number) => void): ExitWatch;
  setChildSubreaper(): void;
  socketpair(): [number, number];
  sendFds(socket: number, data: Buffer, fds: number[]): void;
  recvFds(socket: number, maxBytes?: number): { data: Buffer; fds: number[] } | null;
  connectUnix(path: string): number;
  /** SO_PEERCRED of a connected unix socket: who is at the other end. */
  peerCredentials(fd: number): PeerCredentials;
  /**
   * A unix socket bound at `path` (file mode `mode`) and listening, as a plain fd that
   * a child may inherit; closing it never removes the file.
   */
  listenUnix(path: string, mode: number): number;
  setBlocking(fd: number, blocking: boolean): void;
  /** Starts hutch-init; returns at once. */
  launch(options: LaunchOptions): { pid: number; pidfd: number };
  compileSeccomp(program: SeccompProgram): Buffer;
  /**
   * A NETLINK_ROUTE socket made inside the network namespace at `netnsPath` (null: ours),
   * with extended acks on. Close it with fs.closeSync.
   */
  netlinkOpen(netnsPath: string | null): number;
  /**
   * Sends one netlink request (the caller sets NLM_F_ACK) and resolves with the reply
   * messages that carry its sequence number, up to the ack or NLMSG_DONE; rejects with
   * the kernel's errno (`code`, `syscall` "netlink") and its extended-ack text (`detail`).
   * One request at a time per socket.
   */
  netlinkRequest(fd: number, message: Buffer): Promise<Buffer[]>;
  /** mknod(2); `mode` carries the type bits (S_IFCHR, S_IFBLK, S_IFIFO). Overlay whiteouts are char 0/0. */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2): never follows a symlink. */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** lgetxattr(2): null when the attribute is absent. */
  lgetxattr(path: string, name: string): Buffer | null;
  /** llistxattr(2): the attribute names ([] where the file system has none). */
  llistxattr(path: string): string[];
  /**
   * mount(2) with relative paths (in `data` too) resolved against `dir`, from a thread
   * with its own cwd — the process's cwd never changes. Keeps deep overlay lowerdir
   * lists under the one-page mount data limit.
   */
  mountAt(dir: string, source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /**
   * cgroup v1 events: a non-blocking eventfd registered in `controlPath`
   * (cgroup.event_control) for `targetPath` (e.g. memory.oom_control); the kernel
   * signals it on each event and when the cgroup is removed. Watch it with watchFd.
   */
  cgroupEventFd(controlPath: string, targetPath: string, args?: string): number;
  /**
   * cgroup v2 devices: builds a BPF_CGROUP_DEVICE program from `rules` (first match
   * wins, else `defaultAllow`), attaches it to the cgroup directory and detaches the
   * device programs that were there before.
   */
  attachDeviceFilter(cgroupDir: string, rules: BpfDeviceRule[], defaultAllow: boolean): void;
  /** Ids of the device programs attached to a cgroup directory. */
  deviceFilterIds(cgroupDir: string): number[];
  /** TIOCGWINSZ: the size of the terminal at `fd`, null when it is not one. */
  getWindowSize(fd: number): { rows: number; cols: number } | null;
  /** TIOCSWINSZ on a pty (master or slave). */
  setWindowSize(fd: number, rows: number, cols: number): void;
  /** cfmakeraw on the terminal at `fd`; returns the previous settings (null: not a terminal). */
  makeRaw(fd: number): Buffer | null;
  /** Puts back settings makeRaw returned. */
  restoreTerminal(fd: number, saved: Buffer): void;
  /** A new pty pair [master, slave], close-on-exec, not our controlling terminal. */
  openPty(): [number, number];
  /** Opens `path` read-only with every component resolved inside `root` (openat2 RESOLVE_IN_ROOT). */
  openInRoot(root: string, path: string): number;
}

/** Where node-gyp puts the addon and hutch-init (overridable for packaging). Both
 * dist/addon/ and the bundle in dist/bundle/ are two levels below the package root. */
export function buildDir(): string {
  return process.env.HUTCH_NATIVE_DIR ?? path.resolve(__dirname, '..', '..', 'build', 'Release');
}

export function initPath(): string {
  return path.join(buildDir(), 'hutch-init');
}

/** The helper that binds host files into a container's mount namespace (addon/nsmount/main.c). */
export function nsmountPath(): string {
  return path.join(buildDir(), 'hutch-nsmount');
}

interface RawAddon extends Omit<NativeOps, 'launch' | 'watchExit' | 'watchFd'> {
  launch(options: { initPath: string; fds: number[]; argv: string[]; cgroupFd?: number }): { pid: number; pidfd: number };
  ExitWatch: new (pidfd: number, reap: boolean, onExit: (status: ExitStatus | null) => void) => ExitWatch;
  FdWatch: new (fd: number, writable: boolean, onReady: (status: number) => void) => ExitWatch;
}

let loaded: NativeOps | undefined;

function load(): NativeOps {
  // process.dlopen rather than require: it works the same from the bundle (dist/bundle/)
  const holder = { exports: {} as RawAddon };
  process.dlopen(holder, path.join(buildDir(), 'hutch_native.node'));
  const raw = holder.exports;
  return {
    ...raw,
    socketpair: () => raw.socketpair() as [number, number],
    pipe: () => raw.pipe() as [number, number],
    openPty: () => raw.openPty() as [number, number],
    launch: (o) => raw.launch({ initPath: initPath(), fds: o.fds, argv: ['hutch-init', ...o.args], cgroupFd: o.cgroupFd }),
    watchExit: (pidfd, reap, onExit) => new raw.ExitWatch(pidfd, reap, onExit),
    watchFd: (fd, writable, onReady) => new raw.FdWatch(fd, writable, onReady),
  };
}

/** The real addon, loaded on first use. */
export function native(): NativeOps {
  loaded ??= load();
  return loaded;
}

export { encodePlan } from './plan-codec';
export type { LaunchPlan, PlanMount, PlanDevice, PlanHook, PlanRlimit } from './plan';
export { MountKind } from './plan';
