/**
 * The no-op cgroup manager (`cgroup: { use: none }` or `io.hutch.cgroup=none`): the
 * container runs in its caller's cgroup and hutch manages none. Resources are refused
 * (nothing would apply them); pause, stats and update say there is no cgroup.
 */
import { HutchError } from '../../runtime/errors';
import type { LinuxResources } from '../../runtime/spec/types';
import type { CgroupHandle, CgroupManager, CgroupMountSource, CgroupRequest, CgroupStats, Disposable } from './manager';

function noCgroup(op: string): HutchError {
  return new HutchError(op, 'the container has no cgroup (cgroup manager "none")', { kind: 'failed-precondition' });
}

export class NoCgroupManager implements CgroupManager {
  readonly name = 'none';

  async create(request: CgroupRequest): Promise<CgroupHandle> {
    const asked = Object.entries(request.resources ?? {}).filter(([k, v]) => k !== 'devices' && v && Object.keys(v).length);
    if (asked.length) {
      throw new HutchError('create', `linux.resources.${asked[0][0]}: the cgroup manager "none" applies no resources`, {
        kind: 'invalid-argument',
        field: `linux.resources.${asked[0][0]}`,
      });
    }
    return { version: 1, path: '', dirs: {}, manager: 'none' };
  }

  async attach(): Promise<void> {}

  async update(_handle: CgroupHandle, _resources: LinuxResources): Promise<void> {
    throw noCgroup('update');
  }

  async setFrozen(): Promise<void> {
    throw noCgroup('pause');
  }

  async freezerState(): Promise<'thawed'> {
    return 'thawed';
  }

  async pids(): Promise<number[]> {
    return [];
  }

  async signalAll(): Promise<void> {}

  async stats(): Promise<CgroupStats> {
    throw new HutchError('stats', 'the container has no cgroup (cgroup manager "none")', { kind: 'not-found' });
  }

  watchOom(): Disposable {
    return { dispose: () => undefined };
  }

  mountSources(): CgroupMountSource[] {
    return [];
  }

  async destroy(): Promise<void> {}
}
