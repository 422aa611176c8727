/**
 * cgroups for rootless containers, as runc's `--rootless auto` does it: an
 * unprivileged user gets a cgroup only where one was delegated to it (the cgroup
 * directories are writable); otherwise the container runs without one, and we say
 * what that skips instead of failing.
 */
import type { CgroupHandle, CgroupManager, CgroupRequest } from '../../plugins/cgroup/manager';
import type { LinuxResources } from '../spec/types';
import { HutchError } from '../errors';
import { isPermissionError } from '../../plugins/cgroup/fsutil';

/** --rootless: "true" ignores cgroup permission errors, "false" never does, "auto" when not root. */
export type RootlessMode = 'true' | 'false' | 'auto';

export function checkRootlessMode(value: string): RootlessMode {
  if (value === 'true' || value === 'false' || value === 'auto') return value;
  throw new HutchError('', `--rootless: "${value}" is not true, false or auto`, { kind: 'invalid-argument', field: '--rootless' });
}

/** The resource sections a container asked for (what running without a cgroup skips). */
export function requestedResources(resources: LinuxResources | undefined): string[] {
  return Object.entries(resources ?? {})
    .filter(([key, v]) => key !== 'devices' && v !== undefined && v !== null && !(typeof v === 'object' && Object.keys(v).length === 0))
    .map(([key]) => key);
}

export async function createCgroupOrSkip(
  manager: CgroupManager,
  request: CgroupRequest,
  o: { mode: RootlessMode; rootless: boolean; warn?: (msg: string) => void; debug?: (msg: string) => void },
): Promise<CgroupHandle | undefined> {
  try {
    return await manager.create(request);
  } catch (e) {
    const tolerate = o.mode === 'true' || (o.mode === 'auto' && o.rootless);
    if (!tolerate || !isPermissionError(e)) throw e;
    const skipped = requestedResources(request.resources);
    const why = `no cgroup was delegated to this user (${(e as Error).message})`;
    const what = 'the container runs in the caller\'s cgroup: pause, resume, ps, update and stats are not available';
    if (skipped.length) o.warn?.(`rootless: ${why}; linux.resources ${skipped.join(', ')} not applied; ${what}`);
    else o.debug?.(`rootless: ${why}; ${what}`);
    return undefined;
  }
}
