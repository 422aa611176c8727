/**
 * The conversions runc (1.1) makes between OCI resource values and cgroup files, so
 * a container gets the same numbers under hutch as under runc.
 *
 * Example: sharesToWeight(1024) === 39; swapMaxV2(300 << 20, 100 << 20) === 200 << 20
 */

/** cgroup v2 cpu.weight (1–10000) from OCI cpu.shares (2–262144); 0 = unset. */
export function sharesToWeight(shares: number): number {
  if (!shares) return 0;
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** cgroup v2 io.weight (1–10000) from a v1 blkio weight (10–1000); 0 = unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (!weight) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * memory.swap.max from OCI memory.swap (which is memory+swap, as in v1) and
 * memory.limit: -1 = "max", 0 = leave alone. runc's ConvertMemorySwapToCgroupV2Value.
 * Throws a plain Error whose message the caller puts under the field name.
 */
export function swapMaxV2(swap: number, limit: number): number {
  // unlimited memory and no word on swap: unlimited both, as v1 does
  if (limit === -1 && swap === 0) return -1;
  if (swap === -1 || swap === 0) return swap;
  if (limit === 0 || limit === -1) throw new Error('unable to set a swap limit without a memory limit');
  if (swap < limit) throw new Error(`memory+swap limit ${swap} is below the memory limit ${limit}`);
  return swap - limit;
}

/** "0-3,6" → [0,1,2,3,6]; throws on bad syntax. */
export function parseCpuList(list: string): number[] {
  const out = new Set<number>();
  for (const part of list.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad element "${part}"`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new Error(`bad range "${part}"`);
    if (to - from > 65536) throw new Error(`range "${part}" is too large`);
    for (let i = from; i <= to; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** [0,1,2,3,6] → "0-3,6" */
export function formatCpuList(ids: number[]): string {
  const sorted = [...new Set(ids)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** A number for a v2 limit file: -1 → "max". */
export function maxOrNumber(n: number): string {
  return n === -1 ? 'max' : String(n);
}

/** "2MB" → 2097152 bytes */
export function pageSizeBytes(size: string): number {
  const m = /^(\d+)(KB|MB|GB|TB|PB)$/.exec(size);
  if (!m) throw new Error(`bad page size "${size}"`);
  const exp = { KB: 1, MB: 2, GB: 3, TB: 4, PB: 5 }[m[2] as 'KB'] ?? 0;
  return Number(m[1]) * 1024 ** exp;
}

/** /sys/kernel/mm/hugepages/hugepages-2048kB → "2MB" (the name the cgroup files use) */
export function pageSizeName(kB: number): string {
  const units = ['KB', 'MB', 'GB', 'TB', 'PB'];
  let v = kB;
  let u = 0;
  while (v >= 1024 && v % 1024 === 0 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v}${units[u]}`;
}
