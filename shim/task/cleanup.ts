/**
 * The `delete` action's work for a container whose shim is gone (or that its live
 * shim does not know): force-delete it in the runtime, unmount <bundle>/rootfs, and
 * report pid, exit status 137 (128 + SIGKILL, as the runc shim) and the time.
 *
 * SEAM (lead): today this only reads the pid; wire the runtime's force delete and the
 * rootfs unmount in here. Both shim/cli/delete.ts (no live shim) and the task
 * service's forceDelete (live shim, via the launcher) end up here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { toTimestamp } from '../timestamp';
import type { DeleteResult, DeleteTarget } from './contract';

export const KILLED_EXIT_STATUS = 128 + 9;

/** The init pid a runtime recorded in the bundle (`init.pid`), or 0. */
export function readInitPid(bundle: string): number {
  try {
    const pid = Number.parseInt(fs.readFileSync(path.join(bundle, 'init.pid'), 'utf8').trim(), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : 0;
  } catch {
    return 0;
  }
}

export async function cleanupDeadContainer(target: DeleteTarget): Promise<DeleteResult> {
  return { pid: readInitPid(target.bundle), exitStatus: KILLED_EXIT_STATUS, exitedAt: toTimestamp() };
}
