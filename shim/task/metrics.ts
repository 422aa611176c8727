/** Cgroup statistics as the Any containerd expects from Stats (v1 or v2 Metrics). */
import type { CgroupStats } from '../../plugins/cgroup/manager';

export function metricsAny(stats: CgroupStats): { type_url: string; value: Uint8Array } {
  // the generated Metrics code is large: loaded by the first Stats, not by every shim
  const { io } = require('../../proto/gen/cgroups') as typeof import('../../proto/gen/cgroups');
  if (stats.version === 2) {
    const m = io.containerd.cgroups.v2.Metrics;
    return { type_url: 'io.containerd.cgroups.v2.Metrics', value: m.encode(m.fromObject(stats.metrics)).finish() };
  }
  const m = io.containerd.cgroups.v1.Metrics;
  return { type_url: 'io.containerd.cgroups.v1.Metrics', value: m.encode(m.fromObject(stats.metrics)).finish() };
}
