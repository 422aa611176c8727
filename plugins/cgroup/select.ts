/** The cgroup manager for this host (v1 and hybrid: v1; unified: v2). */
import { hostLayout } from './hierarchy';
import type { CgroupManager } from './manager';

let manager: CgroupManager | undefined;

export function defaultCgroupManager(): CgroupManager {
  if (!manager) {
    if (hostLayout() === 'v2') manager = new (require('./v2') as typeof import('./v2')).CgroupV2Manager();
    else manager = new (require('./v1') as typeof import('./v1')).CgroupV1Manager();
  }
  return manager;
}

/** The manager that made a handle (stored in state). */
export function cgroupManagerFor(version: 1 | 2): CgroupManager {
  return version === 2
    ? new (require('./v2') as typeof import('./v2')).CgroupV2Manager()
    : new (require('./v1') as typeof import('./v1')).CgroupV1Manager();
}
