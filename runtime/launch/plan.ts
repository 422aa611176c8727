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
import { CLONE_NEWCGROUP, CLONE_NEWNET, CLONE_NEWUSER, NAMESPACE_FLAGS } from '../spec/namespaces';
import { RLIMITS, rlimitValue } from '../spec/rlimits';
import { seccompProgram } from '../spec/seccomp';
import { sysctlPath } from '../spec/sysctl';
import type { Hook, Spec } from '../spec/types';
import { devLinks, planDevices } from './devices';
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

export function compilePlan(spec: Spec, o: PlanOptions, nativeOps: Pick<NativeOps, 'compileSeccomp'>): LaunchPlan {
  const proc = spec.process!;
  const linux = spec.linux ?? {};
  const ns = namespaces(spec);
  const userNs = (ns.unshareFlags & CLONE_NEWUSER) !== 0 || ns.join.some((j) => j.type === CLONE_NEWUSER);
  const env = proc.env ?? [];
  const caps = proc.capabilities ?? {};
  const mask = (set: keyof typeof caps): bigint => capabilityMask(o.op, `process.capabilities.${set}`, caps[set]);
  const mounts = [
    ...planMounts(spec, { op: o.op, bundle: o.bundle, cgroupSources: o.cgroupSources, cgroupNamespace: (ns.unshareFlags & CLONE_NEWCGROUP) !== 0 }),
    ...devLinks(spec),
    // runc makes a missing working directory
    mkdirMount(proc.cwd),
  ];
  let seccomp: LaunchPlan['seccomp'];
  if (linux.seccomp) {
    const s = seccompProgram(o.op, linux.seccomp);
    seccomp = { bpf: nativeOps.compileSeccomp(s.program), flags: s.flags, notify: s.notify };
  }
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
    setgroups: !o.rootless,
    umask: proc.user.umask,
    caps: { bounding: mask('bounding'), effective: mask('effective'), permitted: mask('permitted'), inheritable: mask('inheritable'), ambient: mask('ambient') },
    noNewPrivileges: proc.noNewPrivileges === true,
    seccomp,
    consoleFd: o.consoleFd,
    consoleSize: proc.consoleSize && proc.consoleSize.height && proc.consoleSize.width ? { rows: proc.consoleSize.height, cols: proc.consoleSize.width } : undefined,
    preserveFds: o.preserveFds,
    sessionKeyring: o.sessionKeyring,
    loopbackUp: (ns.unshareFlags & CLONE_NEWNET) !== 0,
    hooks: {
      createContainer: (spec.hooks?.createContainer ?? []).map(planHook),
      startContainer: (spec.hooks?.startContainer ?? []).map(planHook),
    },
  };
}

export function resolveRootfs(spec: Spec, bundle: string): string {
  return path.resolve(bundle, spec.root!.path);
}
