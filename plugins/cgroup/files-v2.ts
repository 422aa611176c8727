/**
 * OCI `linux.resources` → cgroup v2 file writes, with runc's conversions: cpu.weight
 * from shares, memory.swap.max from memory+swap, io.weight from a blkio weight,
 * cpu.max from quota and period. `unified` comes last so it can override. Devices
 * are an eBPF program (devices.ts, the v2 manager), not files.
 *
 * Example:
 *   planV2({ memory: { limit: 100 << 20, swap: 300 << 20 }, cpu: { shares: 1024 } }, ctx)
 *   // → memory.swap.max ← 209715200, memory.max ← 104857600, cpu.weight ← 39
 */
import type { LinuxResources } from '../../runtime/spec/types';
import { blkioWeightToIoWeight, maxOrNumber, sharesToWeight, swapMaxV2 } from './convert';
import { rdmaWrites, unifiedWrites } from './files-v1';
import { checkCpuset, checkHugepages, checkNotBelowUsage, exists, fail, need, read, type PlanContext } from './plan-context';
import type { CgroupWrite } from './writes';

/** On v2 every controller's files are in the one directory. */
const U = 'unified';

function needController(ctx: PlanContext, controller: string, field: string): void {
  need(ctx, U, field);
  const available = (read(ctx, U, 'cgroup.controllers') ?? '').split(' ');
  if (!available.includes(controller)) {
    fail(ctx, field, `the ${controller} controller is not enabled for this cgroup (available: ${available.filter(Boolean).join(' ') || 'none'})`);
  }
}

function unsupported(ctx: PlanContext, field: string, why: string): never {
  fail(ctx, field, `not supported on cgroup v2: ${why}`);
}

function memoryWrites(ctx: PlanContext, m: NonNullable<LinuxResources['memory']>): CgroupWrite[] {
  needController(ctx, 'memory', 'memory');
  if (m.kernel) unsupported(ctx, 'memory.kernel', 'kernel memory is accounted with the rest and has no separate limit');
  if (m.kernelTCP) unsupported(ctx, 'memory.kernelTCP', 'TCP buffer memory is accounted with the rest and has no separate limit');
  if (m.swappiness !== undefined && m.swappiness !== null && m.swappiness >= 0) unsupported(ctx, 'memory.swappiness', 'there is no per-cgroup swappiness');
  if (m.disableOOMKiller) unsupported(ctx, 'memory.disableOOMKiller', 'the OOM killer cannot be disabled per cgroup');
  if (m.useHierarchy === false) unsupported(ctx, 'memory.useHierarchy', 'cgroup v2 is always hierarchical');
  const out: CgroupWrite[] = [];
  const limit = m.limit ?? 0;
  const swap = m.swap ?? 0;
  let swapMax: number;
  try {
    swapMax = swapMaxV2(swap, limit);
  } catch (e) {
    fail(ctx, 'memory.swap', (e as Error).message);
  }
  checkNotBelowUsage(ctx, 'memory.limit', limit, read(ctx, U, 'memory.current'));
  let swapValue = swapMax === 0 ? '' : maxOrNumber(swapMax);
  // memory and memory+swap equal: no swap at all
  if (swapMax === 0 && swap > 0) swapValue = '0';
  if (swapValue) {
    // a kernel without swap has no memory.swap.max; "max" or "0" there is what it has anyway
    const optional = swapValue === 'max' || swapValue === '0';
    if (!optional && !exists(ctx, U, 'memory.swap.max')) fail(ctx, 'memory.swap', 'this kernel has no swap accounting (no memory.swap.max)');
    out.push({ controller: U, file: 'memory.swap.max', value: swapValue, field: ctx.name('memory.swap'), optional });
  }
  if (limit) out.push({ controller: U, file: 'memory.max', value: maxOrNumber(limit), field: ctx.name('memory.limit') });
  if (m.reservation) out.push({ controller: U, file: 'memory.low', value: maxOrNumber(m.reservation), field: ctx.name('memory.reservation') });
  return out;
}

function cpuWrites(ctx: PlanContext, c: NonNullable<LinuxResources['cpu']>): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (c.realtimePeriod) unsupported(ctx, 'cpu.realtimePeriod', 'there is no real-time CPU controller');
  if (c.realtimeRuntime) unsupported(ctx, 'cpu.realtimeRuntime', 'there is no real-time CPU controller');
  if (c.shares) {
    needController(ctx, 'cpu', 'cpu.shares');
    out.push({ controller: U, file: 'cpu.weight', value: String(sharesToWeight(c.shares)), field: ctx.name('cpu.shares') });
  }
  if (c.quota || c.period) {
    const field = c.quota ? 'cpu.quota' : 'cpu.period';
    needController(ctx, 'cpu', field);
    let value = c.quota && c.quota > 0 ? String(c.quota) : 'max';
    if (c.period) value += ` ${c.period}`;
    out.push({ controller: U, file: 'cpu.max', value, field: ctx.name(field), hint: 'the quota may exceed what the parent cgroup allows' });
  }
  if (c.burst) {
    needController(ctx, 'cpu', 'cpu.burst');
    if (!exists(ctx, U, 'cpu.max.burst')) fail(ctx, 'cpu.burst', 'this kernel has no cpu.max.burst');
    out.push({ controller: U, file: 'cpu.max.burst', value: String(c.burst), field: ctx.name('cpu.burst'), hint: 'the burst must not exceed the quota' });
  }
  if (c.idle !== undefined && c.idle !== null) {
    needController(ctx, 'cpu', 'cpu.idle');
    if (!exists(ctx, U, 'cpu.idle')) fail(ctx, 'cpu.idle', 'this kernel has no cpu.idle');
    out.push({ controller: U, file: 'cpu.idle', value: String(c.idle), field: ctx.name('cpu.idle') });
  }
  if (c.cpus) {
    needController(ctx, 'cpuset', 'cpu.cpus');
    checkCpuset(ctx, 'cpu.cpus', c.cpus, ctx.allowedCpus, 'CPU');
    out.push({ controller: U, file: 'cpuset.cpus', value: c.cpus, field: ctx.name('cpu.cpus') });
  }
  if (c.mems) {
    needController(ctx, 'cpuset', 'cpu.mems');
    checkCpuset(ctx, 'cpu.mems', c.mems, ctx.allowedMems, 'memory node');
    out.push({ controller: U, file: 'cpuset.mems', value: c.mems, field: ctx.name('cpu.mems') });
  }
  return out;
}

function ioWrites(ctx: PlanContext, b: NonNullable<LinuxResources['blockIO']>): CgroupWrite[] {
  needController(ctx, 'io', 'blockIO');
  if (b.leafWeight) unsupported(ctx, 'blockIO.leafWeight', 'leaf weights were a CFQ feature');
  const out: CgroupWrite[] = [];
  // BFQ takes blkio's 1–1000 weights as they are; io.weight (iocost) is 1–10000
  const bfq = exists(ctx, U, 'io.bfq.weight');
  const noWeight = 'this host has neither io.bfq.weight nor io.weight (no BFQ scheduler or iocost controller)';
  if (b.weight) {
    if (!bfq && !exists(ctx, U, 'io.weight')) fail(ctx, 'blockIO.weight', noWeight);
    out.push({
      controller: U,
      file: bfq ? 'io.bfq.weight' : 'io.weight',
      value: String(bfq ? b.weight : blkioWeightToIoWeight(b.weight)),
      field: ctx.name('blockIO.weight'),
    });
  }
  (b.weightDevice ?? []).forEach((d, i) => {
    const key = `${d.major}:${d.minor}`;
    if (d.leafWeight) unsupported(ctx, `blockIO.weightDevice[${i}].leafWeight`, 'leaf weights were a CFQ feature');
    if (!d.weight) return;
    if (!bfq && !exists(ctx, U, 'io.weight')) fail(ctx, `blockIO.weightDevice[${i}].weight`, noWeight);
    out.push({
      controller: U,
      file: bfq ? 'io.bfq.weight' : 'io.weight',
      value: `${key} ${bfq ? d.weight : blkioWeightToIoWeight(d.weight)}`,
      field: ctx.name(`blockIO.weightDevice[${i}].weight`),
      keyed: { key, absent: `${key} default` },
      hint: bfq ? 'per-device BFQ weights need the device to use the BFQ I/O scheduler' : 'io.weight needs the iocost controller enabled for the device (io.cost.qos)',
    });
  });
  const throttles: [keyof typeof b, string][] = [
    ['throttleReadBpsDevice', 'rbps'],
    ['throttleWriteBpsDevice', 'wbps'],
    ['throttleReadIOPSDevice', 'riops'],
    ['throttleWriteIOPSDevice', 'wiops'],
  ];
  for (const [field, name] of throttles) {
    ((b[field] ?? []) as { major: number; minor: number; rate: number }[]).forEach((d, i) => {
      const key = `${d.major}:${d.minor}`;
      out.push({
        controller: U,
        file: 'io.max',
        value: `${key} ${name}=${d.rate > 0 ? d.rate : 'max'}`,
        field: ctx.name(`blockIO.${field}[${i}]`),
        keyed: { key, absent: `${key} rbps=max wbps=max riops=max wiops=max` },
      });
    });
  }
  return out;
}

function hugetlbWrites(ctx: PlanContext, list: NonNullable<LinuxResources['hugepageLimits']>): CgroupWrite[] {
  return list.map((h, i) => {
    needController(ctx, 'hugetlb', `hugepageLimits[${i}]`);
    checkHugepages(ctx, `hugepageLimits[${i}].pageSize`, h.pageSize);
    return { controller: U, file: `hugetlb.${h.pageSize}.max`, value: String(h.limit), field: ctx.name(`hugepageLimits[${i}].limit`) };
  });
}

/** Every v2 write for `r`, devices excepted. */
export function planV2(r: LinuxResources, ctx: PlanContext): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (r.cpu) out.push(...cpuWrites(ctx, r.cpu));
  if (r.memory) out.push(...memoryWrites(ctx, r.memory));
  if (r.pids && r.pids.limit) {
    needController(ctx, 'pids', 'pids.limit');
    out.push({ controller: U, file: 'pids.max', value: r.pids.limit > 0 ? String(r.pids.limit) : 'max', field: ctx.name('pids.limit') });
  }
  if (r.blockIO) out.push(...ioWrites(ctx, r.blockIO));
  if (r.hugepageLimits?.length) out.push(...hugetlbWrites(ctx, r.hugepageLimits));
  if (r.network && (r.network.classID !== undefined || r.network.priorities?.length)) {
    unsupported(ctx, r.network.classID !== undefined ? 'network.classID' : 'network.priorities', 'net_cls and net_prio exist only in cgroup v1 (use the network plugin)');
  }
  if (r.rdma && Object.keys(r.rdma).length) {
    for (const dev of Object.keys(r.rdma)) needController(ctx, 'rdma', `rdma.${dev}`);
    out.push(...rdmaWrites({ ...ctx, dirs: { rdma: ctx.dirs[U] } }, r.rdma).map((w) => ({ ...w, controller: U })));
  }
  if (r.unified && Object.keys(r.unified).length) out.push(...unifiedWrites(ctx, r.unified, U));
  return out;
}
