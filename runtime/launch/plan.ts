/**
 * Compiles a validated spec into the launch plan hutch-init carries out. All of the
 * decisions are here: which namespaces to create or join, mounts in order, devices,
 * limits, capabilities as masks, the seccomp filter compiled to BPF (in this, the
 * parent, process), hooks that run inside the container.
 */
import * as path from 'node:path';
import { MountKind, type LaunchPlan, type PlanHook, type PlanMount } from '../../addon/plan';
import type { NativeOps } from '../../addon';
import type { CgroupMountSource } from '../../plugins/cgroup/manager';
import { capabilityMask } from '../spec/capabilities';
import { rootfsPropagationFlags } from '../spec/mount-options';
import { CLONE_NEWCGROUP, CLONE_NEWNET, CLONE_NEWUSER, NAMESPACE_FLAGS, NAMESPACE_PROC_NAME } from '../spec/namespaces';
import { RLIMITS, rlimitValue } from '../spec/rlimits';
import { seccompProgram } from '../spec/seccomp';
import { sysctlPath } from '../spec/sysctl';
import type { Hook, Linux, Process, Spec } from '../spec/types';
import { devLinks, planDevices } from './devices';
import { setgroupsDenied } from './idmap';
import { planMounts } from './mounts';

export interface PlanOptions {
  op: string;
  bundle: string;
  /** absolute rootfs */
  rootfs: string;
  noPivot: boolean;
  consoleFd?: number;
  preserveFds: number;
  cgroupSources: CgroupMountSource[];
  rootless: boolean;
  /** --no-new-keyring absent: the container gets a session keyring of its own */
  sessionKeyring?: string;
}

const PERSONALITY: Record<string, number> = { LINUX: 0x0, LINUX32: 0x8 };

function planHook(h: Hook): PlanHook {
  return { path: h.path, args: h.args && h.args.length ? h.args : [h.path], env: h.env, timeoutSeconds: h.timeout ?? 0 };
}

function lookupPath(env: string[]): string {
  let value = '';
  for (const e of env) if (e.startsWith('PATH=')) value = e.slice(5);
  return value;
}

function timeOffsets(spec: Spec): string | undefined {
  const offsets = spec.linux?.timeOffsets;
  if (!offsets) return undefined;
  return Object.entries(offsets)
    .map(([clock, o]) => `${clock} ${o.secs ?? 0} ${o.nanosecs ?? 0}\n`)
    .join('');
}

function namespaces(spec: Spec): { unshareFlags: number; join: { type: number; path: string }[] } {
  let unshareFlags = 0;
  const join: { type: number; path: string }[] = [];
  for (const ns of spec.linux?.namespaces ?? []) {
    const flag = NAMESPACE_FLAGS[ns.type];
    if (ns.path) join.push({ type: flag, path: ns.path });
    else unshareFlags |= flag;
  }
  return { unshareFlags, join };
}

function mkdirMount(target: string): PlanMount {
  return { kind: MountKind.Mkdir, target, flags: 0, propagation: 0, attrSet: 0, attrClr: 0, remountLate: false };
}

/** The parts of a plan that describe the process itself: shared by create and exec. */
type ProcessPlan = Pick<
  LaunchPlan,
  | 'rlimits'
  | 'oomScoreAdj'
  | 'personality'
  | 'args'
  | 'env'
  | 'cwd'
  | 'lookupPath'
  | 'uid'
  | 'gid'
  | 'additionalGids'
  | 'setgroups'
  | 'umask'
  | 'caps'
  | 'noNewPrivileges'
  | 'seccomp'
  | 'consoleSize'
  | 'preserveFds'
>;

function processPlan(op: string, spec: Spec, proc: Process, o: { rootless: boolean; preserveFds: number }, nativeOps: Pick<NativeOps, 'compileSeccomp'>): ProcessPlan {
  const linux: Linux = spec.linux ?? {};
  const env = proc.env ?? [];
  const caps = proc.capabilities ?? {};
  const mask = (set: keyof typeof caps): bigint => capabilityMask(op, `process.capabilities.${set}`, caps[set]);
  let seccomp: LaunchPlan['seccomp'];
  if (linux.seccomp) {
    const s = seccompProgram(op, linux.seccomp);
    seccomp = { bpf: nativeOps.compileSeccomp(s.program), flags: s.flags, notify: s.notify };
  }
  return {
    rlimits: (proc.rlimits ?? []).map((r) => ({ name: r.type, resource: RLIMITS[r.type], soft: rlimitValue(r.soft), hard: rlimitValue(r.hard) })),
    oomScoreAdj: proc.oomScoreAdj,
    personality: linux.personality ? PERSONALITY[linux.personality.domain] : undefined,
    args: proc.args!,
    env,
    cwd: proc.cwd,
    lookupPath: lookupPath(env),
    uid: proc.user.uid,
    gid: proc.user.gid,
    additionalGids: proc.user.additionalGids ?? [],
    setgroups: !setgroupsDenied(spec, o.rootless),
    umask: proc.user.umask,
    caps: { bounding: mask('bounding'), effective: mask('effective'), permitted: mask('permitted'), inheritable: mask('inheritable'), ambient: mask('ambient') },
    noNewPrivileges: proc.noNewPrivileges === true,
    seccomp,
    consoleSize: proc.consoleSize && proc.consoleSize.height && proc.consoleSize.width ? { rows: proc.consoleSize.height, cols: proc.consoleSize.width } : undefined,
    preserveFds: o.preserveFds,
  };
}

export function compilePlan(spec: Spec, o: PlanOptions, nativeOps: Pick<NativeOps, 'compileSeccomp'>): LaunchPlan {
  const proc = spec.process!;
  const linux = spec.linux ?? {};
  const ns = namespaces(spec);
  const userNs = (ns.unshareFlags & CLONE_NEWUSER) !== 0 || ns.join.some((j) => j.type === CLONE_NEWUSER);
  const mounts = [
    ...planMounts(spec, { op: o.op, bundle: o.bundle, cgroupSources: o.cgroupSources, cgroupNamespace: (ns.unshareFlags & CLONE_NEWCGROUP) !== 0 }),
    ...devLinks(spec),
    // runc makes a missing working directory
    mkdirMount(proc.cwd),
  ];
  return {
    unshareFlags: ns.unshareFlags,
    join: ns.join,
    needIdmap: (ns.unshareFlags & CLONE_NEWUSER) !== 0 && !!(linux.uidMappings?.length || linux.gidMappings?.length),
    timensOffsets: timeOffsets(spec),
    setupRootfs: true,
    rootfs: o.rootfs,
    rootfsPropagation: linux.rootfsPropagation ? rootfsPropagationFlags(linux.rootfsPropagation)! : 0,
    rootReadonly: spec.root?.readonly === true,
    noPivot: o.noPivot,
    mounts,
    bindDevices: userNs,
    devices: planDevices(spec),
    maskedPaths: linux.maskedPaths ?? [],
    readonlyPaths: linux.readonlyPaths ?? [],
    hostname: spec.hostname || undefined,
    domainname: spec.domainname || undefined,
    sysctls: Object.entries(linux.sysctl ?? {}).map(([key, value]) => ({ key: sysctlPath(key), value })),
    ...processPlan(o.op, spec, proc, o, nativeOps),
    consoleFd: o.consoleFd,
    sessionKeyring: o.sessionKeyring,
    loopbackUp: (ns.unshareFlags & CLONE_NEWNET) !== 0,
    hooks: {
      createContainer: (spec.hooks?.createContainer ?? []).map(planHook),
      startContainer: (spec.hooks?.startContainer ?? []).map(planHook),
    },
  };
}

export interface ExecPlanOptions {
  op: string;
  /** host pid of the container's init: its /proc/<pid>/ns/* are joined */
  initPid: number;
  rootfs: string;
  rootless: boolean;
  preserveFds: number;
}

/**
 * The plan for `exec`: join every namespace the container has (through its init's
 * /proc/<pid>/ns links, so namespaces it created and ones it joined by path alike),
 * the pid and time namespaces by the extra fork hutch-init makes; no rootfs work, no
 * hooks; the container's seccomp filter, the process' own user, caps and limits.
 */
export function compileExecPlan(spec: Spec, proc: Process, o: ExecPlanOptions, nativeOps: Pick<NativeOps, 'compileSeccomp'>): LaunchPlan {
  const linux = spec.linux ?? {};
  const join = (linux.namespaces ?? []).map((n) => ({ type: NAMESPACE_FLAGS[n.type], path: `/proc/${o.initPid}/ns/${NAMESPACE_PROC_NAME[n.type]}` }));
  return {
    unshareFlags: 0,
    join,
    needIdmap: false,
    setupRootfs: false,
    rootfs: o.rootfs,
    rootfsPropagation: 0,
    rootReadonly: false,
    noPivot: false,
    mounts: [],
    bindDevices: false,
    devices: [],
    maskedPaths: [],
    readonlyPaths: [],
    sysctls: [],
    ...processPlan(o.op, spec, proc, o, nativeOps),
    forkForExec: true,
    hooks: { createContainer: [], startContainer: [] },
  };
}

export function resolveRootfs(spec: Spec, bundle: string): string {
  return path.resolve(bundle, spec.root!.path);
}
