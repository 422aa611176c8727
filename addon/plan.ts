/**
 * The launch plan: everything hutch-init needs, already decided. Compiled from the
 * OCI spec in runtime/launch/ and encoded by plan-codec.ts. Numbers are the
 * kernel's own (CLONE_NEW*, MS_*, RLIMIT_*), so hutch-init decides nothing.
 */
export const enum MountKind {
  Fs = 1,
  Bind = 2,
  Symlink = 3,
  Mkdir = 4,
}

export interface PlanMount {
  kind: MountKind;
  source?: string;
  /** absolute path inside the rootfs */
  target: string;
  fstype?: string;
  /** MS_* for mount(2); for binds, MS_REC plus the per-mount flags applied after */
  flags: number;
  /** MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE, optionally | MS_REC */
  propagation: number;
  data?: string;
  /** MOUNT_ATTR_* set and cleared recursively (the r* options) */
  attrSet: number;
  attrClr: number;
  /** mount writable, remount read-only after devices are made (tmpfs /dev with ro) */
  remountLate: boolean;
  /** tmpcopyup: start the tmpfs with the contents of the directory it covers; when read-only
   * it must also be remountLate (hutch-init fills it writable and relies on that remount) */
  copyUp?: boolean;
}

export interface PlanDevice {
  path: string;
  /** S_IFCHR, S_IFBLK or S_IFIFO */
  type: number;
  major: number;
  minor: number;
  mode: number;
  uid: number;
  gid: number;
}

export interface PlanHook {
  path: string;
  args: string[];
  /** undefined: inherit the runtime's environment */
  env?: string[];
  timeoutSeconds: number;
}

export interface PlanRlimit {
  name: string;
  resource: number;
  soft: bigint;
  hard: bigint;
}

export interface LaunchPlan {
  unshareFlags: number;
  join: { type: number; path: string }[];
  needIdmap: boolean;
  timensOffsets?: string;

  setupRootfs: boolean;
  rootfs: string;
  rootfsPropagation: number;
  rootReadonly: boolean;
  noPivot: boolean;
  mounts: PlanMount[];
  bindDevices: boolean;
  devices: PlanDevice[];
  maskedPaths: string[];
  readonlyPaths: string[];

  hostname?: string;
  domainname?: string;
  sysctls: { key: string; value: string }[];
  rlimits: PlanRlimit[];
  oomScoreAdj?: number;
  personality?: number;

  args: string[];
  env: string[];
  cwd: string;
  lookupPath: string;
  uid: number;
  gid: number;
  additionalGids: number[];
  setgroups: boolean;
  umask?: number;
  caps: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  noNewPrivileges: boolean;
  seccomp?: { bpf: Buffer; flags: number; notify: boolean };

  /** fd number in hutch-init of exec.fifo, opened O_PATH by the parent */
  execFifoFd?: number;
  /** fd number in hutch-init of the connected console socket */
  consoleFd?: number;
  consoleSize?: { rows: number; cols: number };
  preserveFds: number;
  pdeathSignal?: number;
  /** name of a new session keyring to join (absent: keep the caller's, --no-new-keyring) */
  sessionKeyring?: string;
  /** bring "lo" up: the container has a new network namespace */
  loopbackUp?: boolean;
  /** exec: a new process in a running container (namespaces joined, no rootfs work, no hooks) */
  forkForExec?: boolean;
  hooks: { createContainer: PlanHook[]; startContainer: PlanHook[] };
}
