/**
 * Encodes a LaunchPlan into the flat TLV buffer hutch-init reads. The tag numbers
 * mirror addon/init/plan_format.h; test/unit/plan-codec.test.ts checks they agree.
 */
import type { LaunchPlan, PlanDevice, PlanHook, PlanMount } from './plan';

export const PLAN_MAGIC = 0x50545548;
export const PLAN_VERSION = 1;

export const Tag = {
  UNSHARE_FLAGS: 1,
  JOIN_NS: 2,
  NEED_IDMAP: 3,
  TIMENS_OFFSETS: 4,
  ROOTFS: 5,
  ROOTFS_PROPAGATION: 6,
  ROOT_READONLY: 7,
  NO_PIVOT: 8,
  MOUNT: 9,
  BIND_DEVICES: 11,
  DEVICE: 12,
  MASKED_PATH: 13,
  READONLY_PATH: 14,
  HOSTNAME: 15,
  DOMAINNAME: 16,
  SYSCTL: 17,
  RLIMIT: 18,
  OOM_SCORE_ADJ: 19,
  ARG: 20,
  ENV: 21,
  CWD: 22,
  UID: 23,
  GID: 24,
  ADDITIONAL_GID: 25,
  UMASK: 26,
  CAPS_BOUNDING: 27,
  CAPS_EFFECTIVE: 28,
  CAPS_PERMITTED: 29,
  CAPS_INHERITABLE: 30,
  CAPS_AMBIENT: 31,
  NO_NEW_PRIVS: 32,
  SECCOMP_BPF: 33,
  SECCOMP_FLAGS: 34,
  SECCOMP_NOTIFY: 35,
  EXEC_FIFO_FD: 36,
  CONSOLE_FD: 37,
  CONSOLE_SIZE: 38,
  PRESERVE_FDS: 39,
  HOOK_CREATE_CONTAINER: 40,
  HOOK_START_CONTAINER: 41,
  SETUP_ROOTFS: 43,
  SETGROUPS: 44,
  LOOKUP_PATH: 45,
  FORK_FOR_EXEC: 47,
  PDEATH_SIGNAL: 48,
  PERSONALITY: 50,
  SESSION_KEYRING: 51,
  LOOPBACK_UP: 52,
} as const;

export const NsTag = { TYPE: 1, PATH: 2 } as const;
export const MountTag = {
  KIND: 1,
  SOURCE: 2,
  TARGET: 3,
  FSTYPE: 4,
  FLAGS: 5,
  PROPAGATION: 6,
  DATA: 7,
  ATTR_SET: 8,
  ATTR_CLR: 9,
  REMOUNT_LATE: 10,
  COPY_UP: 11,
} as const;
export const DeviceTag = { PATH: 1, TYPE: 2, MAJOR: 3, MINOR: 4, MODE: 5, UID: 6, GID: 7 } as const;
export const KvTag = { KEY: 1, VALUE: 2 } as const;
export const RlimitTag = { RESOURCE: 1, SOFT: 2, HARD: 3, NAME: 4 } as const;
export const HookTag = { PATH: 1, ARG: 2, ENV: 3, HAS_ENV: 4, TIMEOUT: 5 } as const;

export const Msg = {
  PLAN: 1,
  IDMAP_REQUEST: 2,
  IDMAP_DONE: 3,
  INIT_PID: 4,
  CONTINUE: 5,
  AT_CREATE_RUNTIME: 6,
  GO: 7,
  SECCOMP_FD: 8,
  CREATED: 9,
  ERROR: 10,
  EXEC_STARTED: 11,
  CGROUP_READY: 12,
} as const;

/**
 * Writes TLV records into one growing buffer (a plan is a few KiB: no per-record
 * allocations); a compound record reserves its header and patches the length after.
 * The first 8 bytes are kept for the plan header (magic, version), which toPlan()
 * fills in, so the finished plan is never copied.
 */
class TlvWriter {
  private buf = Buffer.allocUnsafe(8192);
  private len = 8;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(bigger, 0, 0, this.len);
    this.buf = bigger;
  }

  private header(tag: number, length: number): void {
    this.reserve(8 + length);
    this.buf.writeUInt16LE(tag, this.len);
    this.buf.writeUInt16LE(0, this.len + 2);
    this.buf.writeUInt32LE(length, this.len + 4);
    this.len += 8;
  }

  u64(tag: number, value: number | bigint | boolean): void {
    const v = typeof value === 'boolean' ? (value ? 1n : 0n) : BigInt(value);
    this.header(tag, 8);
    this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.len);
    this.len += 8;
  }

  str(tag: number, value: string): void {
    const n = Buffer.byteLength(value, 'utf8');
    this.header(tag, n + 1);
    this.buf.write(value, this.len, 'utf8');
    this.buf[this.len + n] = 0;
    this.len += n + 1;
  }

  optStr(tag: number, value: string | undefined): void {
    if (value !== undefined) this.str(tag, value);
  }

  group(tag: number, fill: (w: TlvWriter) => void): void {
    this.header(tag, 0);
    const start = this.len;
    fill(this);
    this.buf.writeUInt32LE(this.len - start, start - 4);
  }

  raw(tag: number, payload: Buffer): void {
    this.header(tag, payload.length);
    payload.copy(this.buf, this.len);
    this.len += payload.length;
  }

  toPlan(): Buffer {
    this.buf.writeUInt32LE(PLAN_MAGIC, 0);
    this.buf.writeUInt32LE(PLAN_VERSION, 4);
    return this.buf.subarray(0, this.len);
  }
}

function writeMount(w: TlvWriter, m: PlanMount): void {
  w.u64(MountTag.KIND, m.kind);
  w.optStr(MountTag.SOURCE, m.source);
  w.str(MountTag.TARGET, m.target);
  w.optStr(MountTag.FSTYPE, m.fstype);
  w.u64(MountTag.FLAGS, m.flags);
  if (m.propagation) w.u64(MountTag.PROPAGATION, m.propagation);
  w.optStr(MountTag.DATA, m.data);
  if (m.attrSet) w.u64(MountTag.ATTR_SET, m.attrSet);
  if (m.attrClr) w.u64(MountTag.ATTR_CLR, m.attrClr);
  if (m.remountLate) w.u64(MountTag.REMOUNT_LATE, true);
  if (m.copyUp) w.u64(MountTag.COPY_UP, true);
}

function writeDevice(w: TlvWriter, d: PlanDevice): void {
  w.str(DeviceTag.PATH, d.path);
  w.u64(DeviceTag.TYPE, d.type);
  w.u64(DeviceTag.MAJOR, d.major);
  w.u64(DeviceTag.MINOR, d.minor);
  w.u64(DeviceTag.MODE, d.mode);
  w.u64(DeviceTag.UID, d.uid);
  w.u64(DeviceTag.GID, d.gid);
}

function writeHook(w: TlvWriter, h: PlanHook): void {
  w.str(HookTag.PATH, h.path);
  for (const a of h.args) w.str(HookTag.ARG, a);
  if (h.env) {
    w.u64(HookTag.HAS_ENV, true);
    for (const e of h.env) w.str(HookTag.ENV, e);
  }
  if (h.timeoutSeconds) w.u64(HookTag.TIMEOUT, h.timeoutSeconds);
}

export function encodePlan(plan: LaunchPlan): Buffer {
  const w = new TlvWriter();
  w.u64(Tag.UNSHARE_FLAGS, plan.unshareFlags);
  for (const j of plan.join) {
    w.group(Tag.JOIN_NS, (g) => {
      g.u64(NsTag.TYPE, j.type);
      g.str(NsTag.PATH, j.path);
    });
  }
  if (plan.needIdmap) w.u64(Tag.NEED_IDMAP, true);
  w.optStr(Tag.TIMENS_OFFSETS, plan.timensOffsets);

  w.u64(Tag.SETUP_ROOTFS, plan.setupRootfs);
  w.str(Tag.ROOTFS, plan.rootfs);
  if (plan.rootfsPropagation) w.u64(Tag.ROOTFS_PROPAGATION, plan.rootfsPropagation);
  if (plan.rootReadonly) w.u64(Tag.ROOT_READONLY, true);
  if (plan.noPivot) w.u64(Tag.NO_PIVOT, true);
  for (const m of plan.mounts) w.group(Tag.MOUNT, (g) => writeMount(g, m));
  if (plan.bindDevices) w.u64(Tag.BIND_DEVICES, true);
  for (const d of plan.devices) w.group(Tag.DEVICE, (g) => writeDevice(g, d));
  for (const p of plan.maskedPaths) w.str(Tag.MASKED_PATH, p);
  for (const p of plan.readonlyPaths) w.str(Tag.READONLY_PATH, p);

  w.optStr(Tag.HOSTNAME, plan.hostname);
  w.optStr(Tag.DOMAINNAME, plan.domainname);
  for (const s of plan.sysctls) {
    w.group(Tag.SYSCTL, (g) => {
      g.str(KvTag.KEY, s.key);
      g.str(KvTag.VALUE, s.value);
    });
  }
  for (const r of plan.rlimits) {
    w.group(Tag.RLIMIT, (g) => {
      g.u64(RlimitTag.RESOURCE, r.resource);
      g.u64(RlimitTag.SOFT, r.soft);
      g.u64(RlimitTag.HARD, r.hard);
      g.str(RlimitTag.NAME, r.name);
    });
  }
  if (plan.oomScoreAdj !== undefined) w.u64(Tag.OOM_SCORE_ADJ, plan.oomScoreAdj);
  if (plan.personality !== undefined) w.u64(Tag.PERSONALITY, plan.personality);

  for (const a of plan.args) w.str(Tag.ARG, a);
  for (const e of plan.env) w.str(Tag.ENV, e);
  w.str(Tag.CWD, plan.cwd);
  w.str(Tag.LOOKUP_PATH, plan.lookupPath);
  w.u64(Tag.UID, plan.uid);
  w.u64(Tag.GID, plan.gid);
  for (const g of plan.additionalGids) w.u64(Tag.ADDITIONAL_GID, g);
  w.u64(Tag.SETGROUPS, plan.setgroups);
  if (plan.umask !== undefined) w.u64(Tag.UMASK, plan.umask);
  w.u64(Tag.CAPS_BOUNDING, plan.caps.bounding);
  w.u64(Tag.CAPS_EFFECTIVE, plan.caps.effective);
  w.u64(Tag.CAPS_PERMITTED, plan.caps.permitted);
  w.u64(Tag.CAPS_INHERITABLE, plan.caps.inheritable);
  w.u64(Tag.CAPS_AMBIENT, plan.caps.ambient);
  if (plan.noNewPrivileges) w.u64(Tag.NO_NEW_PRIVS, true);
  if (plan.seccomp) {
    w.raw(Tag.SECCOMP_BPF, plan.seccomp.bpf);
    w.u64(Tag.SECCOMP_FLAGS, plan.seccomp.flags);
    if (plan.seccomp.notify) w.u64(Tag.SECCOMP_NOTIFY, true);
  }

  if (plan.execFifoFd !== undefined) w.u64(Tag.EXEC_FIFO_FD, plan.execFifoFd);
  if (plan.consoleFd !== undefined) w.u64(Tag.CONSOLE_FD, plan.consoleFd);
  if (plan.consoleSize) w.u64(Tag.CONSOLE_SIZE, (plan.consoleSize.rows << 16) | plan.consoleSize.cols);
  w.u64(Tag.PRESERVE_FDS, plan.preserveFds);
  if (plan.pdeathSignal) w.u64(Tag.PDEATH_SIGNAL, plan.pdeathSignal);
  w.optStr(Tag.SESSION_KEYRING, plan.sessionKeyring);
  if (plan.loopbackUp) w.u64(Tag.LOOPBACK_UP, true);
  if (plan.forkForExec) w.u64(Tag.FORK_FOR_EXEC, true);
  for (const h of plan.hooks.createContainer) w.group(Tag.HOOK_CREATE_CONTAINER, (g) => writeHook(g, h));
  for (const h of plan.hooks.startContainer) w.group(Tag.HOOK_START_CONTAINER, (g) => writeHook(g, h));

  return w.toPlan();
}
