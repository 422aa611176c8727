/**
 * config.json mounts → plan mounts, in order. Bind sources are resolved against the
 * bundle; "cgroup" mounts are expanded into what the host's layout needs (a tmpfs
 * with one mount per v1 hierarchy, or one cgroup2 mount); a read-only tmpfs is
 * mounted writable and made read-only after devices are in it.
 */
import * as path from 'node:path';
import { MountKind, type PlanMount } from '../../addon/plan';
import type { CgroupMountSource } from '../../plugins/cgroup/manager';
import { HutchError } from '../errors';
import { MS, parseMountOptions, type ParsedMountOptions } from '../spec/mount-options';
import type { Mount, Spec } from '../spec/types';

/** Files under /proc a container may have mounted over (runc's list); anything else there is refused. */
const PROC_ALLOWED = new Set([
  '/proc/cpuinfo',
  '/proc/diskstats',
  '/proc/meminfo',
  '/proc/stat',
  '/proc/swaps',
  '/proc/uptime',
  '/proc/loadavg',
  '/proc/slabinfo',
  '/proc/net/dev',
  '/proc/sys/kernel/ns_last_pid',
]);

function base(kind: MountKind, target: string, o: ParsedMountOptions): PlanMount {
  return { kind, target, flags: o.flags, propagation: o.propagation, attrSet: o.attrSet, attrClr: o.attrClr, remountLate: false };
}

function checkProcTarget(op: string, m: Mount, i: number): void {
  const dest = path.posix.normalize(m.destination);
  if (dest === '/proc' || !dest.startsWith('/proc/')) return;
  if (m.type === 'proc' || PROC_ALLOWED.has(dest)) return;
  throw new HutchError(op, `mounts[${i}].destination: "${m.destination}" cannot be mounted because it is inside /proc`, {
    kind: 'invalid-argument',
    field: `mounts[${i}].destination`,
  });
}

function cgroupMounts(m: Mount, o: ParsedMountOptions, sources: CgroupMountSource[], cgroupNs: boolean): PlanMount[] {
  const dest = m.destination;
  const perMount = o.flags & (MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC | MS.RELATIME | MS.NOATIME | MS.STRICTATIME);
  const unified = sources.length === 1 && sources[0].name === '';
  const one = (s: CgroupMountSource, target: string): PlanMount =>
    cgroupNs
      ? { ...base(MountKind.Fs, target, o), source: 'cgroup', fstype: s.fstype, data: s.data, flags: perMount }
      : { ...base(MountKind.Bind, target, o), source: s.hostDir, flags: perMount | MS.BIND | MS.REC };
  if (unified) return [one(sources[0], dest)];
  const out: PlanMount[] = [
    {
      ...base(MountKind.Fs, dest, o),
      source: 'tmpfs',
      fstype: 'tmpfs',
      data: 'mode=755',
      flags: perMount,
      remountLate: (perMount & MS.RDONLY) !== 0,
    },
  ];
  for (const s of sources) {
    out.push(one(s, path.posix.join(dest, s.name)));
    for (const link of s.links) out.push({ ...base(MountKind.Symlink, path.posix.join(dest, link), o), source: s.name });
  }
  return out;
}

export interface MountContext {
  op: string;
  bundle: string;
  cgroupSources: CgroupMountSource[];
  cgroupNamespace: boolean;
}

export function planMounts(spec: Spec, ctx: MountContext): PlanMount[] {
  const out: PlanMount[] = [];
  (spec.mounts ?? []).forEach((m, i) => {
    checkProcTarget(ctx.op, m, i);
    const o = parseMountOptions(m.options);
    const isBind = m.type === 'bind' || (o.flags & MS.BIND) !== 0;
    if (m.type === 'cgroup' && !isBind) {
      out.push(...cgroupMounts(m, o, ctx.cgroupSources, ctx.cgroupNamespace));
      return;
    }
    if (isBind) {
      if (!m.source) throw new HutchError(ctx.op, `mounts[${i}].source: a bind mount needs a source`, { kind: 'invalid-argument', field: `mounts[${i}].source` });
      out.push({ ...base(MountKind.Bind, m.destination, o), source: path.resolve(ctx.bundle, m.source) });
      return;
    }
    const fstype = m.type ?? m.source;
    if (o.tmpcopyup && fstype !== 'tmpfs') {
      throw new HutchError(ctx.op, `mounts[${i}].options: tmpcopyup needs a tmpfs mount, not ${fstype}`, { kind: 'invalid-argument', field: `mounts[${i}].options` });
    }
    if (!fstype) throw new HutchError(ctx.op, `mounts[${i}].type: missing`, { kind: 'invalid-argument', field: `mounts[${i}].type` });
    out.push({
      ...base(MountKind.Fs, m.destination, o),
      source: m.source ?? fstype,
      fstype,
      data: o.data.length ? o.data.join(',') : undefined,
      remountLate: fstype === 'tmpfs' && (o.flags & MS.RDONLY) !== 0,
      copyUp: o.tmpcopyup && fstype === 'tmpfs',
    });
  });
  return out;
}
