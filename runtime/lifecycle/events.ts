/**
 * `events`: runc's event stream for one container — a `stats` event every interval and
 * an `oom` event on each OOM kill, as JSON lines `{"type":"stats","id":"…","data":{…}}`,
 * until the container's cgroup is removed (runc ends the same way). With `stats` only
 * one stats event is printed. The stats are runc's `types.Stats` shape (runc
 * types/events.go), converted from the cgroup manager's containerd Metrics.
 */
import { UINT64_MAX, type MetricsV1, type MetricsV2 } from '../../plugins/cgroup/metrics';
import type { CgroupStats } from '../../plugins/cgroup/manager';
import { MEMORY_STAT_V1_KEYS, MEMORY_STAT_V2_KEYS } from '../../plugins/cgroup/metrics';
import { readCpusetV1, type CpusetV1Stats } from '../../plugins/cgroup/stats';
import { controllerDirs } from '../../plugins/cgroup/fsutil';
import { cgroupManagerOf } from '../../plugins/cgroup/select';
import { HutchError } from '../errors';
import { cgroupOf } from './cgroup-of';
import { liveStatus } from '../state/status';
import { StateStore } from '../state/store';

type Json = Record<string, unknown>;

export interface RuncEvent {
  type: 'stats' | 'oom';
  id: string;
  data?: Json;
}

/** Go's encoding/json `omitempty` for numbers: zero values are left out. */
function omitZero(o: Record<string, number | undefined>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) if (v) out[k] = v;
  return out;
}

function memoryEntry(e: { limit: number; usage: number; max: number; failcnt: number }): Json {
  return { limit: e.limit, ...omitZero({ usage: e.usage, max: e.max }), failcnt: e.failcnt };
}

/** runc's CPUSet: cpus and mems left out when empty (omitempty), the rest always there. */
function cpusetJson(c: CpusetV1Stats): Json {
  return {
    ...(c.cpus.length ? { cpus: c.cpus } : {}),
    cpu_exclusive: c.cpuExclusive,
    ...(c.mems.length ? { mems: c.mems } : {}),
    mem_hardwall: c.memHardwall,
    mem_exclusive: c.memExclusive,
    memory_migrate: c.memoryMigrate,
    memory_spread_page: c.memorySpreadPage,
    memory_spread_slab: c.memorySpreadSlab,
    memory_pressure: c.memoryPressure,
    sched_load_balance: c.schedLoadBalance,
    sched_relax_domain_level: c.schedRelaxDomainLevel,
  };
}

/** v2 (and a v1 host without cpuset): runc reports the zero value. */
const EMPTY_CPUSET = {
  cpu_exclusive: 0,
  mem_hardwall: 0,
  mem_exclusive: 0,
  memory_migrate: 0,
  memory_spread_page: 0,
  memory_spread_slab: 0,
  memory_pressure: 0,
  sched_load_balance: 0,
  sched_relax_domain_level: 0,
};

function blkioV1(m: MetricsV1): Json {
  const b = m.blkio;
  if (!b) return {};
  const list = (entries: { major: number; minor: number; op: string; value: number }[]) => entries.map((e) => omitZeroEntry(e));
  const out: Json = {};
  const fields: [keyof typeof b, string][] = [
    ['ioServiceBytesRecursive', 'ioServiceBytesRecursive'],
    ['ioServicedRecursive', 'ioServicedRecursive'],
    ['ioQueuedRecursive', 'ioQueueRecursive'],
    ['ioServiceTimeRecursive', 'ioServiceTimeRecursive'],
    ['ioWaitTimeRecursive', 'ioWaitTimeRecursive'],
    ['ioMergedRecursive', 'ioMergedRecursive'],
    ['ioTimeRecursive', 'ioTimeRecursive'],
    ['sectorsRecursive', 'sectorsRecursive'],
  ];
  for (const [from, to] of fields) if (b[from].length) out[to] = list(b[from]);
  return out;
}

function omitZeroEntry(e: { major: number; minor: number; op: string; value: number }): Json {
  const out: Json = omitZero({ major: e.major, minor: e.minor });
  if (e.op) out.op = e.op;
  if (e.value) out.value = e.value;
  return out;
}

function runcStatsV1(m: MetricsV1, cpuset: CpusetV1Stats | undefined): Json {
  const raw: Record<string, number> = {};
  if (m.memory) for (const [field, key] of Object.entries(MEMORY_STAT_V1_KEYS)) raw[key] = m.memory[field as keyof typeof MEMORY_STAT_V1_KEYS];
  const hugetlb: Json = {};
  for (const h of m.hugetlb) hugetlb[h.pagesize] = { ...omitZero({ usage: h.usage, max: h.max }), failcnt: h.failcnt };
  return {
    cpu: {
      usage: { ...omitZero({ total: m.cpu?.usage.total }), ...(m.cpu?.usage.perCpu.length ? { percpu: m.cpu.usage.perCpu } : {}), kernel: m.cpu?.usage.kernel ?? 0, user: m.cpu?.usage.user ?? 0 },
      throttling: omitZero({ periods: m.cpu?.throttling.periods, throttledPeriods: m.cpu?.throttling.throttledPeriods, throttledTime: m.cpu?.throttling.throttledTime }),
    },
    cpuset: cpuset ? cpusetJson(cpuset) : EMPTY_CPUSET,
    memory: m.memory
      ? {
          ...omitZero({ cache: m.memory.cache }),
          usage: memoryEntry(m.memory.usage),
          swap: memoryEntry(m.memory.swap),
          kernel: memoryEntry(m.memory.kernel),
          kernelTCP: memoryEntry(m.memory.kernelTcp),
          raw,
        }
      : {},
    pids: omitZero({ current: m.pids?.current, limit: m.pids?.limit }),
    blkio: blkioV1(m),
    hugetlb,
    intel_rdt: {},
    network_interfaces: null,
  };
}

function runcStatsV2(m: MetricsV2): Json {
  const raw: Record<string, number> = {};
  if (m.memory) for (const [field, key] of Object.entries(MEMORY_STAT_V2_KEYS)) raw[key] = m.memory[field as keyof typeof MEMORY_STAT_V2_KEYS];
  const mem = m.memory;
  // runc reports v2 swap as memory+swap, the v1 way
  const swapLimit = mem ? (mem.swapLimit >= UINT64_MAX || mem.usageLimit >= UINT64_MAX ? UINT64_MAX : mem.swapLimit + mem.usageLimit) : 0;
  const hugetlb: Json = {};
  for (const h of m.hugetlb) hugetlb[h.pagesize] = { ...omitZero({ usage: h.current }), failcnt: 0 };
  const io = m.io?.usage ?? [];
  const entries = (pick: (e: (typeof io)[number]) => [number, number]) =>
    io.flatMap((e) => {
      const [read, write] = pick(e);
      return [omitZeroEntry({ major: e.major, minor: e.minor, op: 'Read', value: read }), omitZeroEntry({ major: e.major, minor: e.minor, op: 'Write', value: write })];
    });
  const blkio: Json = {};
  if (io.length) {
    blkio.ioServiceBytesRecursive = entries((e) => [e.rbytes, e.wbytes]);
    blkio.ioServicedRecursive = entries((e) => [e.rios, e.wios]);
  }
  return {
    cpu: {
      usage: { ...omitZero({ total: (m.cpu?.usageUsec ?? 0) * 1000 }), kernel: (m.cpu?.systemUsec ?? 0) * 1000, user: (m.cpu?.userUsec ?? 0) * 1000 },
      throttling: omitZero({ periods: m.cpu?.nrPeriods, throttledPeriods: m.cpu?.nrThrottled, throttledTime: (m.cpu?.throttledUsec ?? 0) * 1000 }),
    },
    cpuset: EMPTY_CPUSET,
    memory: mem
      ? {
          ...omitZero({ cache: mem.file }),
          usage: memoryEntry({ limit: mem.usageLimit, usage: mem.usage, max: 0, failcnt: m.memoryEvents?.max ?? 0 }),
          swap: memoryEntry({ limit: swapLimit, usage: mem.swapUsage + mem.usage, max: 0, failcnt: 0 }),
          kernel: memoryEntry({ limit: 0, usage: mem.kernelStack + mem.slab, max: 0, failcnt: 0 }),
          kernelTCP: memoryEntry({ limit: 0, usage: mem.sock, max: 0, failcnt: 0 }),
          raw,
        }
      : {},
    pids: omitZero({ current: m.pids?.current, limit: m.pids && m.pids.limit >= UINT64_MAX ? 0 : m.pids?.limit }),
    blkio,
    hugetlb,
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** runc's `types.Stats` for the `data` of a stats event; `cpuset`: the v1 cpuset cgroup's state. */
export function runcStats(stats: CgroupStats, cpuset?: CpusetV1Stats): Json {
  return stats.version === 1 ? runcStatsV1(stats.metrics, cpuset) : runcStatsV2(stats.metrics);
}

/** JSON with uint64 values printed exactly as Go prints them (no 1.8446744073709552e19). */
export function eventJson(event: RuncEvent): string {
  const marks: string[] = [];
  const text = JSON.stringify(event, (_k, v: unknown) => {
    if (typeof v === 'number' && Number.isInteger(v) && v > Number.MAX_SAFE_INTEGER) {
      const exact = v >= UINT64_MAX ? 18446744073709551615n : BigInt(v);
      marks.push(exact.toString());
      return `\u0000u64:${marks.length - 1}`;
    }
    return v;
  });
  return text.replace(/"\\u0000u64:(\d+)"/g, (_m, i: string) => marks[Number(i)]);
}

/** Go's time.ParseDuration for what `--interval` takes ("5s", "100ms", "1m30s"). */
export function parseDuration(op: string, text: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let at = 0;
  if (!text) throw new HutchError(op, '--interval: empty duration', { kind: 'invalid-argument', field: '--interval' });
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new HutchError(op, `--interval: invalid duration "${text}" (like 5s, 500ms, 1m)`, { kind: 'invalid-argument', field: '--interval' });
    ms += Number(m[1]) * units[m[2]];
    at = re.lastIndex;
  }
  if (ms <= 0) throw new HutchError(op, `--interval: duration must be positive, not "${text}"`, { kind: 'invalid-argument', field: '--interval' });
  return ms;
}

export interface EventsOptions {
  root: string;
  id: string;
  /** print one stats event and return */
  statsOnly?: boolean;
  intervalMs?: number;
  /** one JSON line per event */
  emit: (line: string) => void;
  /** stop early (tests, the shim) */
  signal?: AbortSignal;
}

/** Streams events until the container's cgroup is gone (or `signal` aborts). */
export async function streamEvents(o: EventsOptions): Promise<void> {
  const op = 'events';
  const store = new StateStore(o.root);
  const record = store.read(op, o.id);
  if ((await liveStatus(store, record)) === 'stopped') throw new HutchError(op, `container with id ${o.id} is not running`, { kind: 'failed-precondition' });
  const cgroup = cgroupOf(op, record);
  const manager = (await cgroupManagerOf(cgroup));
  const cpusetDir = cgroup.version === 1 ? controllerDirs(cgroup).cpuset : undefined;
  const statsEvent = async (): Promise<string> =>
    eventJson({ type: 'stats', id: o.id, data: runcStats(await manager.stats(cgroup), cpusetDir ? readCpusetV1(cpusetDir) : undefined) });
  if (o.statsOnly) {
    o.emit(await statsEvent());
    return;
  }
  await new Promise<void>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const finish = (err?: unknown): void => {
      if (finished) return;
      finished = true;
      if (timer) clearInterval(timer);
      watch?.dispose();
      o.signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = (): void => finish();
    let watch: { dispose(): void } | undefined;
    try {
      watch = manager.watchOom(cgroup, () => o.emit(eventJson({ type: 'oom', id: o.id })), () => finish());
    } catch (e) {
      finish(e);
      return;
    }
    o.signal?.addEventListener('abort', onAbort);
    timer = setInterval(() => {
      statsEvent().then(o.emit, (e: NodeJS.ErrnoException) => {
        // the cgroup went away between two ticks: the stream is over, as when the watch sees it
        if (e.code === 'ENOENT') finish();
      });
    }, o.intervalMs ?? 5000);
  });
}
