/**
 * OCI `linux.resources` → cgroup v1 file writes, in the order runc writes them.
 * Zero or absent values are left alone (runc's "unset"); -1 means unlimited.
 * Devices are not here: they are a transition from the current devices.list
 * (devices.ts), applied by the v1 manager.
 *
 * Example:
 *   planV1({ memory: { limit: 104857600 }, pids: { limit: 64 } }, ctx)
 *   // → memory.limit_in_bytes ← 104857600, pids.max ← 64
 */
import type { LinuxResources } from '../../runtime/spec/types';
import { checkCpuset, checkHugepages, checkNotBelowUsage, exists, fail, need, read, type PlanContext } from './plan-context';
import type { CgroupWrite } from './writes';

/** What v1 memory files read for "no limit". */
const V1_UNLIMITED = '9223372036854771712';

function memoryWrites(ctx: PlanContext, m: NonNullable<LinuxResources['memory']>): CgroupWrite[] {
  need(ctx, 'memory', 'memory');
  const out: CgroupWrite[] = [];
  const limit = m.limit ?? 0;
  let swap = m.swap ?? 0;
  const memsw = 'memory.memsw.limit_in_bytes';
  // unlimited memory with no word on swap: unlimited swap too (runc)
  if (limit === -1 && swap === 0 && exists(ctx, 'memory', memsw)) swap = -1;
  if (swap !== 0 && !exists(ctx, 'memory', memsw)) fail(ctx, 'memory.swap', 'swap accounting is not enabled on this host (no memory.memsw.limit_in_bytes; boot with swapaccount=1)');
  checkNotBelowUsage(ctx, 'memory.limit', limit, read(ctx, 'memory', 'memory.usage_in_bytes'));
  checkNotBelowUsage(ctx, 'memory.swap', swap, read(ctx, 'memory', 'memory.memsw.usage_in_bytes'));
  const memoryWrite: CgroupWrite = { controller: 'memory', file: 'memory.limit_in_bytes', value: String(limit), field: ctx.name('memory.limit') };
  const swapWrite: CgroupWrite = { controller: 'memory', file: memsw, value: String(swap), field: ctx.name('memory.swap') };
  // The kernel keeps memory ≤ memory+swap at every step, so the order depends on
  // whether the limits grow or shrink.
  if (limit !== 0 && swap !== 0) {
    const current = Number(read(ctx, 'memory', 'memory.limit_in_bytes') ?? V1_UNLIMITED);
    out.push(...(swap === -1 || current < swap ? [swapWrite, memoryWrite] : [memoryWrite, swapWrite]));
  } else {
    if (limit !== 0) out.push(memoryWrite);
    if (swap !== 0) out.push(swapWrite);
  }
  if (m.reservation) out.push({ controller: 'memory', file: 'memory.soft_limit_in_bytes', value: String(m.reservation), field: ctx.name('memory.reservation') });
  const ignoredBy = (what: string, requested: number) => (readBack: string) =>
    requested > 0 && readBack === V1_UNLIMITED ? `this kernel accepts but ignores ${what} limits (the setting is deprecated)` : undefined;
  if (m.kernel) {
    out.push({ controller: 'memory', file: 'memory.kmem.limit_in_bytes', value: String(m.kernel), field: ctx.name('memory.kernel'), verify: ignoredBy('kernel memory', m.kernel) });
  }
  if (m.kernelTCP) {
    out.push({ controller: 'memory', file: 'memory.kmem.tcp.limit_in_bytes', value: String(m.kernelTCP), field: ctx.name('memory.kernelTCP'), verify: ignoredBy('kernel TCP memory', m.kernelTCP) });
  }
  if (m.swappiness !== undefined && m.swappiness !== null && m.swappiness >= 0) {
    out.push({ controller: 'memory', file: 'memory.swappiness', value: String(m.swappiness), field: ctx.name('memory.swappiness') });
  }
  if (m.disableOOMKiller === true || (ctx.update && m.disableOOMKiller === false)) {
    out.push({ controller: 'memory', file: 'memory.oom_control', value: m.disableOOMKiller ? '1' : '0', field: ctx.name('memory.disableOOMKiller') });
  }
  if (m.useHierarchy !== undefined) {
    out.push({
      controller: 'memory',
      file: 'memory.use_hierarchy',
      value: m.useHierarchy ? '1' : '0',
      field: ctx.name('memory.useHierarchy'),
      hint: 'current kernels are always hierarchical',
    });
  }
  return out;
}

function cpuWrites(ctx: PlanContext, c: NonNullable<LinuxResources['cpu']>): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  const cpu = (file: string, value: number | string, field: string, hint?: string): void => {
    need(ctx, 'cpu', field);
    if (!exists(ctx, 'cpu', file)) fail(ctx, field, `this kernel has no ${file}`);
    out.push({ controller: 'cpu', file, value: String(value), field: ctx.name(field), hint });
  };
  if (c.shares) {
    need(ctx, 'cpu', 'cpu.shares');
    const shares = c.shares;
    out.push({
      controller: 'cpu',
      file: 'cpu.shares',
      value: String(shares),
      field: ctx.name('cpu.shares'),
      verify: (rb) => (Number(rb) !== shares ? `the kernel clamped ${shares} to ${rb}` : undefined),
    });
  }
  if (c.period) cpu('cpu.cfs_period_us', c.period, 'cpu.period');
  if (c.quota) cpu('cpu.cfs_quota_us', c.quota, 'cpu.quota', 'the quota may exceed what the parent cgroup allows');
  if (c.burst) cpu('cpu.cfs_burst_us', c.burst, 'cpu.burst', 'the burst must not exceed the quota');
  const rtHint = 'real-time time must fit in the budget of the parent cgroups (their cpu.rt_runtime_us) and in the period';
  if (c.realtimePeriod) cpu('cpu.rt_period_us', c.realtimePeriod, 'cpu.realtimePeriod', rtHint);
  if (c.realtimeRuntime) cpu('cpu.rt_runtime_us', c.realtimeRuntime, 'cpu.realtimeRuntime', rtHint);
  if (c.idle !== undefined && c.idle !== null) cpu('cpu.idle', c.idle, 'cpu.idle');
  if (c.cpus) {
    need(ctx, 'cpuset', 'cpu.cpus');
    checkCpuset(ctx, 'cpu.cpus', c.cpus, ctx.allowedCpus, 'CPU');
    out.push({ controller: 'cpuset', file: 'cpuset.cpus', value: c.cpus, field: ctx.name('cpu.cpus') });
  }
  if (c.mems) {
    need(ctx, 'cpuset', 'cpu.mems');
    checkCpuset(ctx, 'cpu.mems', c.mems, ctx.allowedMems, 'memory node');
    out.push({ controller: 'cpuset', file: 'cpuset.mems', value: c.mems, field: ctx.name('cpu.mems') });
  }
  return out;
}

function blkioWrites(ctx: PlanContext, b: NonNullable<LinuxResources['blockIO']>): CgroupWrite[] {
  need(ctx, 'blkio', 'blockIO');
  const out: CgroupWrite[] = [];
  // CFQ had blkio.weight; BFQ has blkio.bfq.weight; neither when no such scheduler is built
  const weightFile = ['blkio.weight', 'blkio.bfq.weight'].find((f) => exists(ctx, 'blkio', f));
  const noWeight = 'this host has no blkio weight file (blkio.weight or blkio.bfq.weight: the CFQ or BFQ I/O scheduler with group scheduling is needed)';
  if (b.weight) {
    if (!weightFile) fail(ctx, 'blockIO.weight', noWeight);
    out.push({ controller: 'blkio', file: weightFile, value: String(b.weight), field: ctx.name('blockIO.weight') });
  }
  if (b.leafWeight) {
    if (!exists(ctx, 'blkio', 'blkio.leaf_weight')) fail(ctx, 'blockIO.leafWeight', 'this kernel has no blkio.leaf_weight (CFQ only)');
    out.push({ controller: 'blkio', file: 'blkio.leaf_weight', value: String(b.leafWeight), field: ctx.name('blockIO.leafWeight') });
  }
  (b.weightDevice ?? []).forEach((d, i) => {
    const key = `${d.major}:${d.minor}`;
    if (d.weight) {
      if (!weightFile) fail(ctx, `blockIO.weightDevice[${i}].weight`, noWeight);
      out.push({
        controller: 'blkio',
        file: `${weightFile}_device`,
        value: `${key} ${d.weight}`,
        field: ctx.name(`blockIO.weightDevice[${i}].weight`),
        keyed: { key, absent: `${key} 0` },
        hint: 'per-device weights need the device to use the BFQ (or CFQ) I/O scheduler',
      });
    }
    if (d.leafWeight) {
      if (!exists(ctx, 'blkio', 'blkio.leaf_weight_device')) fail(ctx, `blockIO.weightDevice[${i}].leafWeight`, 'this kernel has no blkio.leaf_weight_device (CFQ only)');
      out.push({ controller: 'blkio', file: 'blkio.leaf_weight_device', value: `${key} ${d.leafWeight}`, field: ctx.name(`blockIO.weightDevice[${i}].leafWeight`), keyed: { key, absent: `${key} 0` } });
    }
  });
  const throttles: [keyof typeof b, string][] = [
    ['throttleReadBpsDevice', 'blkio.throttle.read_bps_device'],
    ['throttleWriteBpsDevice', 'blkio.throttle.write_bps_device'],
    ['throttleReadIOPSDevice', 'blkio.throttle.read_iops_device'],
    ['throttleWriteIOPSDevice', 'blkio.throttle.write_iops_device'],
  ];
  for (const [field, file] of throttles) {
    ((b[field] ?? []) as { major: number; minor: number; rate: number }[]).forEach((d, i) => {
      const key = `${d.major}:${d.minor}`;
      out.push({ controller: 'blkio', file, value: `${key} ${d.rate}`, field: ctx.name(`blockIO.${field}[${i}]`), keyed: { key, absent: `${key} 0` } });
    });
  }
  return out;
}

function hugetlbWrites(ctx: PlanContext, list: NonNullable<LinuxResources['hugepageLimits']>): CgroupWrite[] {
  return list.map((h, i) => {
    need(ctx, 'hugetlb', `hugepageLimits[${i}]`);
    checkHugepages(ctx, `hugepageLimits[${i}].pageSize`, h.pageSize);
    return { controller: 'hugetlb', file: `hugetlb.${h.pageSize}.limit_in_bytes`, value: String(h.limit), field: ctx.name(`hugepageLimits[${i}].limit`) };
  });
}

function networkWrites(ctx: PlanContext, n: NonNullable<LinuxResources['network']>): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (n.classID !== undefined && n.classID !== null) {
    need(ctx, 'net_cls', 'network.classID');
    out.push({ controller: 'net_cls', file: 'net_cls.classid', value: String(n.classID), field: ctx.name('network.classID') });
  }
  (n.priorities ?? []).forEach((p, i) => {
    need(ctx, 'net_prio', `network.priorities[${i}]`);
    out.push({ controller: 'net_prio', file: 'net_prio.ifpriomap', value: `${p.name} ${p.priority}`, field: ctx.name(`network.priorities[${i}]`), keyed: { key: p.name, absent: `${p.name} 0` } });
  });
  return out;
}

export function rdmaWrites(ctx: PlanContext, rdma: NonNullable<LinuxResources['rdma']>): CgroupWrite[] {
  return Object.entries(rdma).map(([dev, l]) => {
    need(ctx, 'rdma', `rdma.${dev}`);
    const handles = l.hcaHandles ?? 'max';
    const objects = l.hcaObjects ?? 'max';
    return {
      controller: 'rdma',
      file: 'rdma.max',
      value: `${dev} hca_handle=${handles} hca_object=${objects}`,
      field: ctx.name(`rdma.${dev}`),
      keyed: { key: dev, absent: `${dev} hca_handle=max hca_object=max` },
    };
  });
}

/**
 * `linux.resources.unified` on a v1 host: only a hybrid host has a cgroup v2
 * hierarchy to write them to (runc does the same).
 */
export function unifiedWrites(ctx: PlanContext, unified: Record<string, string>, controllerKey = 'unified'): CgroupWrite[] {
  return Object.entries(unified).map(([key, value]) => {
    need(ctx, controllerKey, `unified.${key}`);
    if (!exists(ctx, controllerKey, key)) {
      const available = read(ctx, controllerKey, 'cgroup.controllers') ?? '';
      const prefix = key.split('.')[0];
      const why =
        prefix !== 'cgroup' && !available.split(' ').includes(prefix)
          ? `the ${prefix} controller is not enabled for this container's cgroup v2 directory (available: ${available || 'none'})`
          : `unknown cgroup v2 file "${key}"`;
      fail(ctx, `unified.${key}`, why);
    }
    return { controller: controllerKey, file: key, value, field: ctx.name(`unified.${key}`) };
  });
}

/** Every v1 write for `r`, devices excepted. */
export function planV1(r: LinuxResources, ctx: PlanContext): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (r.cpu) out.push(...cpuWrites(ctx, r.cpu));
  if (r.memory) out.push(...memoryWrites(ctx, r.memory));
  if (r.pids && r.pids.limit) {
    need(ctx, 'pids', 'pids.limit');
    out.push({ controller: 'pids', file: 'pids.max', value: r.pids.limit > 0 ? String(r.pids.limit) : 'max', field: ctx.name('pids.limit') });
  }
  if (r.blockIO) out.push(...blkioWrites(ctx, r.blockIO));
  if (r.hugepageLimits?.length) out.push(...hugetlbWrites(ctx, r.hugepageLimits));
  if (r.network) out.push(...networkWrites(ctx, r.network));
  if (r.rdma && Object.keys(r.rdma).length) out.push(...rdmaWrites(ctx, r.rdma));
  if (r.unified && Object.keys(r.unified).length) out.push(...unifiedWrites(ctx, r.unified));
  return out;
}
