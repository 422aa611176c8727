/**
 * Reads a container's cgroup files into containerd's Metrics (metrics.ts), v1 the way
 * containerd/cgroups v1.0.4 reads them (cpuacct, memory.*, blkio with the throttle.*
 * fallback, hugetlb, pids, memory.oom_control), v2 from cpu.stat, memory.stat,
 * memory.events, io.stat, pids.*, hugetlb.*; and, for `hutch events`, a v1 cpuset
 * cgroup's state as runc's CpusetGroup reads it (containerd's Metrics have no cpuset).
 *
 * Example: readStatsV2('/sys/fs/cgroup/hutch/web', ['2MB']).memory?.usage
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  MEMORY_STAT_V1_KEYS,
  MEMORY_STAT_V2_KEYS,
  UINT64_MAX,
  type BlkIOEntryV1,
  type BlkIOStatV1,
  type MemoryEntryV1,
  type MemoryStatV1,
  type MemoryStatV2,
  type MetricsV1,
  type MetricsV2,
  type RdmaEntry,
  type RdmaStat,
} from './metrics';
import { readList } from './plan-context';

/** USER_HZ: what cpuacct.stat counts in (100 on every Linux ABI) */
const CLOCK_TICKS = 100;

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function num(text: string | undefined, max = UINT64_MAX): number {
  if (text === undefined) return 0;
  const t = text.trim();
  if (t === 'max') return max;
  const n = Number(t);
  return Number.isFinite(n) ? n : 0;
}

/** "key value" lines → map */
function keyValues(text: string | undefined): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined) out.set(k, num(v));
  }
  return out;
}

function rdmaEntries(text: string | undefined): RdmaEntry[] {
  const out: RdmaEntry[] = [];
  for (const line of (text ?? '').split('\n')) {
    const [device, ...pairs] = line.trim().split(/\s+/);
    if (!device) continue;
    const kv = new Map(pairs.map((p) => p.split('=') as [string, string]));
    // containerd reports "max" as MaxUint32 here
    out.push({ device, hcaHandles: num(kv.get('hca_handle'), 0xffffffff), hcaObjects: num(kv.get('hca_object'), 0xffffffff) });
  }
  return out;
}

function rdmaStat(dir: string | undefined): RdmaStat | undefined {
  if (!dir || !fs.existsSync(path.join(dir, 'rdma.current'))) return undefined;
  return { current: rdmaEntries(readText(path.join(dir, 'rdma.current'))), limit: rdmaEntries(readText(path.join(dir, 'rdma.max'))) };
}

// ---- v1 ---------------------------------------------------------------------------

function memoryEntry(dir: string, prefix: string): MemoryEntryV1 {
  const f = (name: string): number => num(readText(path.join(dir, `${prefix}${name}`)));
  return { limit: f('limit_in_bytes'), usage: f('usage_in_bytes'), max: f('max_usage_in_bytes'), failcnt: f('failcnt') };
}

function memoryV1(dir: string): MemoryStatV1 {
  const stat = keyValues(readText(path.join(dir, 'memory.stat')));
  const out = {} as Record<string, unknown>;
  for (const [field, key] of Object.entries(MEMORY_STAT_V1_KEYS)) out[field] = stat.get(key) ?? 0;
  out.usage = memoryEntry(dir, 'memory.');
  out.swap = memoryEntry(dir, 'memory.memsw.');
  out.kernel = memoryEntry(dir, 'memory.kmem.');
  out.kernelTcp = memoryEntry(dir, 'memory.kmem.tcp.');
  return out as MemoryStatV1;
}

/** major:minor → /dev/<name>, from /proc/partitions (containerd's device names) */
function partitions(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of (readText('/proc/partitions') ?? '').split('\n').slice(2)) {
    const f = line.trim().split(/\s+/);
    if (f.length === 4) out.set(`${f[0]}:${f[1]}`, `/dev/${f[3]}`);
  }
  return out;
}

function blkioEntries(file: string, devices: Map<string, string>): BlkIOEntryV1[] {
  const out: BlkIOEntryV1[] = [];
  for (const line of (readText(file) ?? '').split('\n')) {
    const f = line.trim().split(/[\s:]+/);
    if (f.length < 3 || f[0] === 'Total') continue;
    const [major, minor] = [Number(f[0]), Number(f[1])];
    const op = f.length >= 4 ? f[2] : '';
    out.push({ op, device: devices.get(`${major}:${minor}`) ?? '', major, minor, value: num(f[f.length - 1]) });
  }
  return out;
}

function blkioV1(dir: string): BlkIOStatV1 {
  const devices = partitions();
  const stat: BlkIOStatV1 = {
    ioServiceBytesRecursive: [],
    ioServicedRecursive: [],
    ioQueuedRecursive: [],
    ioServiceTimeRecursive: [],
    ioWaitTimeRecursive: [],
    ioMergedRecursive: [],
    ioTimeRecursive: [],
    sectorsRecursive: [],
  };
  // CFQ's files first; without CFQ (or when they are empty) the throttle.* ones
  if (fs.existsSync(path.join(dir, 'blkio.io_serviced_recursive'))) {
    const cfq: [keyof BlkIOStatV1, string][] = [
      ['sectorsRecursive', 'sectors_recursive'],
      ['ioServiceBytesRecursive', 'io_service_bytes_recursive'],
      ['ioServicedRecursive', 'io_serviced_recursive'],
      ['ioQueuedRecursive', 'io_queued_recursive'],
      ['ioServiceTimeRecursive', 'io_service_time_recursive'],
      ['ioWaitTimeRecursive', 'io_wait_time_recursive'],
      ['ioMergedRecursive', 'io_merged_recursive'],
      ['ioTimeRecursive', 'time_recursive'],
    ];
    for (const [field, file] of cfq) stat[field] = blkioEntries(path.join(dir, `blkio.${file}`), devices);
    if (cfq.some(([field]) => stat[field].length > 0)) return stat;
  }
  stat.ioServicedRecursive = blkioEntries(path.join(dir, 'blkio.throttle.io_serviced_recursive'), devices);
  stat.ioServiceBytesRecursive = blkioEntries(path.join(dir, 'blkio.throttle.io_service_bytes_recursive'), devices);
  return stat;
}

/**
 * v1 Metrics. `dirs` maps controller → directory (co-mounted controllers appear under
 * each name); a missing controller leaves its part out.
 */
/** Stats of a removed cgroup are an error, not zeros. */
function mustExist(dir: string | undefined): void {
  if (dir && !fs.existsSync(dir)) throw Object.assign(new Error(`cgroup ${dir} does not exist`), { code: 'ENOENT', path: dir });
}

export function readStatsV1(dirs: Record<string, string | undefined>, hugePageSizes: string[]): MetricsV1 {
  mustExist(dirs.memory ?? dirs.pids ?? dirs.cpu);
  const m: MetricsV1 = { hugetlb: [], network: [] };
  if (dirs.pids) m.pids = { current: num(readText(path.join(dirs.pids, 'pids.current'))), limit: num(readText(path.join(dirs.pids, 'pids.max')), 0) };
  if (dirs.cpuacct || dirs.cpu) {
    const acct = dirs.cpuacct;
    const ticks = acct ? keyValues(readText(path.join(acct, 'cpuacct.stat'))) : new Map<string, number>();
    const perCpu = acct ? (readText(path.join(acct, 'cpuacct.usage_percpu')) ?? '').trim().split(/\s+/).filter(Boolean).map(Number) : [];
    const throttle = dirs.cpu ? keyValues(readText(path.join(dirs.cpu, 'cpu.stat'))) : new Map<string, number>();
    m.cpu = {
      usage: {
        total: acct ? num(readText(path.join(acct, 'cpuacct.usage'))) : 0,
        kernel: ((ticks.get('system') ?? 0) * 1e9) / CLOCK_TICKS,
        user: ((ticks.get('user') ?? 0) * 1e9) / CLOCK_TICKS,
        perCpu,
      },
      throttling: { periods: throttle.get('nr_periods') ?? 0, throttledPeriods: throttle.get('nr_throttled') ?? 0, throttledTime: throttle.get('throttled_time') ?? 0 },
    };
  }
  if (dirs.memory) {
    m.memory = memoryV1(dirs.memory);
    const oom = keyValues(readText(path.join(dirs.memory, 'memory.oom_control')));
    m.memoryOomControl = { oomKillDisable: oom.get('oom_kill_disable') ?? 0, underOom: oom.get('under_oom') ?? 0, oomKill: oom.get('oom_kill') ?? 0 };
  }
  if (dirs.blkio) m.blkio = blkioV1(dirs.blkio);
  if (dirs.hugetlb) {
    const dir = dirs.hugetlb;
    m.hugetlb = hugePageSizes.map((size) => ({
      pagesize: size,
      usage: num(readText(path.join(dir, `hugetlb.${size}.usage_in_bytes`))),
      max: num(readText(path.join(dir, `hugetlb.${size}.max_usage_in_bytes`))),
      failcnt: num(readText(path.join(dir, `hugetlb.${size}.failcnt`))),
    }));
  }
  m.rdma = rdmaStat(dirs.rdma);
  return m;
}

// ---- v2 ---------------------------------------------------------------------------

function memoryV2(dir: string): MemoryStatV2 {
  const stat = keyValues(readText(path.join(dir, 'memory.stat')));
  const out = {} as Record<string, number>;
  for (const [field, key] of Object.entries(MEMORY_STAT_V2_KEYS)) out[field] = stat.get(key) ?? 0;
  out.usage = num(readText(path.join(dir, 'memory.current')));
  out.usageLimit = num(readText(path.join(dir, 'memory.max')));
  out.swapUsage = num(readText(path.join(dir, 'memory.swap.current')));
  out.swapLimit = num(readText(path.join(dir, 'memory.swap.max')));
  return out as MemoryStatV2;
}

function ioV2(dir: string): MetricsV2['io'] {
  const usage = [];
  for (const line of (readText(path.join(dir, 'io.stat')) ?? '').split('\n')) {
    const [dev, ...pairs] = line.trim().split(/\s+/);
    if (!dev || !dev.includes(':')) continue;
    const kv = new Map(pairs.map((p) => p.split('=') as [string, string]));
    const [major, minor] = dev.split(':').map(Number);
    usage.push({ major, minor, rbytes: num(kv.get('rbytes')), wbytes: num(kv.get('wbytes')), rios: num(kv.get('rios')), wios: num(kv.get('wios')) });
  }
  return { usage };
}

/** v2 Metrics of one cgroup directory. */
export function readStatsV2(dir: string, hugePageSizes: string[]): MetricsV2 {
  mustExist(dir);
  const m: MetricsV2 = { hugetlb: [] };
  const has = (file: string): boolean => fs.existsSync(path.join(dir, file));
  if (has('pids.current')) m.pids = { current: num(readText(path.join(dir, 'pids.current'))), limit: num(readText(path.join(dir, 'pids.max'))) };
  if (has('cpu.stat')) {
    const s = keyValues(readText(path.join(dir, 'cpu.stat')));
    m.cpu = {
      usageUsec: s.get('usage_usec') ?? 0,
      userUsec: s.get('user_usec') ?? 0,
      systemUsec: s.get('system_usec') ?? 0,
      nrPeriods: s.get('nr_periods') ?? 0,
      nrThrottled: s.get('nr_throttled') ?? 0,
      throttledUsec: s.get('throttled_usec') ?? 0,
    };
  }
  if (has('memory.stat')) m.memory = memoryV2(dir);
  if (has('memory.events')) {
    const e = keyValues(readText(path.join(dir, 'memory.events')));
    m.memoryEvents = { low: e.get('low') ?? 0, high: e.get('high') ?? 0, max: e.get('max') ?? 0, oom: e.get('oom') ?? 0, oomKill: e.get('oom_kill') ?? 0 };
  }
  if (has('io.stat')) m.io = ioV2(dir);
  m.hugetlb = hugePageSizes
    .filter((size) => has(`hugetlb.${size}.current`))
    .map((size) => ({ pagesize: size, current: num(readText(path.join(dir, `hugetlb.${size}.current`))), max: num(readText(path.join(dir, `hugetlb.${size}.max`))) }));
  m.rdma = rdmaStat(dir);
  return m;
}

/** runc's types.CPUSet, from a v1 cpuset directory; missing files read as 0 / empty, as runc tolerates them. */
export interface CpusetV1Stats {
  cpus: number[];
  mems: number[];
  cpuExclusive: number;
  memHardwall: number;
  memExclusive: number;
  memoryMigrate: number;
  memorySpreadPage: number;
  memorySpreadSlab: number;
  memoryPressure: number;
  schedLoadBalance: number;
  schedRelaxDomainLevel: number;
}

export function readCpusetV1(dir: string): CpusetV1Stats {
  const value = (file: string): number => num(readText(path.join(dir, `cpuset.${file}`)));
  return {
    cpus: readList(path.join(dir, 'cpuset.cpus')),
    mems: readList(path.join(dir, 'cpuset.mems')),
    cpuExclusive: value('cpu_exclusive'),
    memHardwall: value('mem_hardwall'),
    memExclusive: value('mem_exclusive'),
    memoryMigrate: value('memory_migrate'),
    memorySpreadPage: value('memory_spread_page'),
    memorySpreadSlab: value('memory_spread_slab'),
    memoryPressure: value('memory_pressure'),
    schedLoadBalance: value('sched_load_balance'),
    schedRelaxDomainLevel: value('sched_relax_domain_level'),
  };
}
