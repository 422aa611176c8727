/**
 * The shape of `CgroupManager.stats()`: containerd's cgroup Metrics as plain objects,
 * v1 (`io.containerd.cgroups.v1.Metrics`, containerd/cgroups stats/v1/metrics.proto)
 * and v2 (`io.containerd.cgroups.v2.Metrics`, v2/stats/metrics.proto). This file is
 * the contract with the shim, which encodes them with the protobufjs code generated
 * from proto/cgroups/:
 *
 * - field names are the proto names in protobufjs's camelCase (`usage_usec` →
 *   `usageUsec`, `pg_pg_in` → `pgPgIn`), so `Metrics.fromObject(metrics)` takes them;
 * - every uint64 is a JS number (exact below 2^53, which every counter is). The
 *   "unlimited" values are numbers too: v1's 9223372036854771712 (exact as a double)
 *   and v2's `max`, given as UINT64_MAX (2^64 as a double); the generated
 *   `fromObject` + `encode` put them on the wire as 9223372036854771712 and
 *   18446744073709551615 (checked against proto/cgroups/ of the shim branch);
 * - a sub-message the host cannot fill is left out (undefined), as containerd does;
 *   repeated fields are always arrays.
 *
 * Example:
 *   const { version, metrics } = await manager.stats(handle);
 *   const any = { type_url: `io.containerd.cgroups.v${version}.Metrics`, value: encode(metrics) };
 */

/** v2's "max" (2^64−1), as close as a number gets. */
export const UINT64_MAX = 18446744073709551615;

// ---- v2 ---------------------------------------------------------------------------

export interface PidsStatV2 {
  current: number;
  limit: number;
}

export interface CPUStatV2 {
  usageUsec: number;
  userUsec: number;
  systemUsec: number;
  nrPeriods: number;
  nrThrottled: number;
  throttledUsec: number;
}

/** memory.stat keys by proto field (all of them, in proto order) */
export const MEMORY_STAT_V2_KEYS = {
  anon: 'anon',
  file: 'file',
  kernelStack: 'kernel_stack',
  slab: 'slab',
  sock: 'sock',
  shmem: 'shmem',
  fileMapped: 'file_mapped',
  fileDirty: 'file_dirty',
  fileWriteback: 'file_writeback',
  anonThp: 'anon_thp',
  inactiveAnon: 'inactive_anon',
  activeAnon: 'active_anon',
  inactiveFile: 'inactive_file',
  activeFile: 'active_file',
  unevictable: 'unevictable',
  slabReclaimable: 'slab_reclaimable',
  slabUnreclaimable: 'slab_unreclaimable',
  pgfault: 'pgfault',
  pgmajfault: 'pgmajfault',
  workingsetRefault: 'workingset_refault',
  workingsetActivate: 'workingset_activate',
  workingsetNodereclaim: 'workingset_nodereclaim',
  pgrefill: 'pgrefill',
  pgscan: 'pgscan',
  pgsteal: 'pgsteal',
  pgactivate: 'pgactivate',
  pgdeactivate: 'pgdeactivate',
  pglazyfree: 'pglazyfree',
  pglazyfreed: 'pglazyfreed',
  thpFaultAlloc: 'thp_fault_alloc',
  thpCollapseAlloc: 'thp_collapse_alloc',
} as const;

export type MemoryStatV2 = { [K in keyof typeof MEMORY_STAT_V2_KEYS]: number } & {
  usage: number;
  usageLimit: number;
  swapUsage: number;
  swapLimit: number;
};

export interface MemoryEventsV2 {
  low: number;
  high: number;
  max: number;
  oom: number;
  oomKill: number;
}

export interface IOEntryV2 {
  major: number;
  minor: number;
  rbytes: number;
  wbytes: number;
  rios: number;
  wios: number;
}

export interface RdmaEntry {
  device: string;
  hcaHandles: number;
  hcaObjects: number;
}

export interface RdmaStat {
  current: RdmaEntry[];
  limit: RdmaEntry[];
}

export interface HugeTlbStatV2 {
  current: number;
  max: number;
  pagesize: string;
}

export interface MetricsV2 {
  pids?: PidsStatV2;
  cpu?: CPUStatV2;
  memory?: MemoryStatV2;
  rdma?: RdmaStat;
  io?: { usage: IOEntryV2[] };
  hugetlb: HugeTlbStatV2[];
  memoryEvents?: MemoryEventsV2;
}

// ---- v1 ---------------------------------------------------------------------------

export interface HugetlbStatV1 {
  usage: number;
  max: number;
  failcnt: number;
  pagesize: string;
}

export interface PidsStatV1 {
  current: number;
  /** `max` → 0 in v1 */
  limit: number;
}

export interface CPUStatV1 {
  usage: { total: number; kernel: number; user: number; perCpu: number[] };
  throttling: { periods: number; throttledPeriods: number; throttledTime: number };
}

/** memory.stat keys by proto field */
export const MEMORY_STAT_V1_KEYS = {
  cache: 'cache',
  rss: 'rss',
  rssHuge: 'rss_huge',
  mappedFile: 'mapped_file',
  dirty: 'dirty',
  writeback: 'writeback',
  pgPgIn: 'pgpgin',
  pgPgOut: 'pgpgout',
  pgFault: 'pgfault',
  pgMajFault: 'pgmajfault',
  inactiveAnon: 'inactive_anon',
  activeAnon: 'active_anon',
  inactiveFile: 'inactive_file',
  activeFile: 'active_file',
  unevictable: 'unevictable',
  hierarchicalMemoryLimit: 'hierarchical_memory_limit',
  hierarchicalSwapLimit: 'hierarchical_memsw_limit',
  totalCache: 'total_cache',
  totalRss: 'total_rss',
  totalRssHuge: 'total_rss_huge',
  totalMappedFile: 'total_mapped_file',
  totalDirty: 'total_dirty',
  totalWriteback: 'total_writeback',
  totalPgPgIn: 'total_pgpgin',
  totalPgPgOut: 'total_pgpgout',
  totalPgFault: 'total_pgfault',
  totalPgMajFault: 'total_pgmajfault',
  totalInactiveAnon: 'total_inactive_anon',
  totalActiveAnon: 'total_active_anon',
  totalInactiveFile: 'total_inactive_file',
  totalActiveFile: 'total_active_file',
  totalUnevictable: 'total_unevictable',
} as const;

export interface MemoryEntryV1 {
  limit: number;
  usage: number;
  max: number;
  failcnt: number;
}

export type MemoryStatV1 = { [K in keyof typeof MEMORY_STAT_V1_KEYS]: number } & {
  usage: MemoryEntryV1;
  swap: MemoryEntryV1;
  kernel: MemoryEntryV1;
  kernelTcp: MemoryEntryV1;
};

export interface BlkIOEntryV1 {
  op: string;
  device: string;
  major: number;
  minor: number;
  value: number;
}

export interface BlkIOStatV1 {
  ioServiceBytesRecursive: BlkIOEntryV1[];
  ioServicedRecursive: BlkIOEntryV1[];
  ioQueuedRecursive: BlkIOEntryV1[];
  ioServiceTimeRecursive: BlkIOEntryV1[];
  ioWaitTimeRecursive: BlkIOEntryV1[];
  ioMergedRecursive: BlkIOEntryV1[];
  ioTimeRecursive: BlkIOEntryV1[];
  sectorsRecursive: BlkIOEntryV1[];
}

export interface MemoryOomControlV1 {
  oomKillDisable: number;
  underOom: number;
  oomKill: number;
}

export interface MetricsV1 {
  hugetlb: HugetlbStatV1[];
  pids?: PidsStatV1;
  cpu?: CPUStatV1;
  memory?: MemoryStatV1;
  blkio?: BlkIOStatV1;
  rdma?: RdmaStat;
  /** not filled by cgroups (containerd leaves it empty too) */
  network: never[];
  memoryOomControl?: MemoryOomControlV1;
}
