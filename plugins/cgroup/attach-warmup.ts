/**
 * Starts the kernel's wait for a cgroup attach early.
 *
 * Every cgroup.procs write takes cgroup_threadgroup_rwsem for writing, and the first
 * such write after a quiet spell waits for an RCU grace period (the rwsem's rcu_sync:
 * 5–16 ms on a small VM) — holding the global cgroup mutex, so mkdir waits too;
 * writes during the following grace period do not wait. A v1 attach is such a write.
 * So the v1 manager, right after its mkdirs, and an exec, at its start, move this
 * process into the cgroup it is already in (a no-op move that takes the same lock)
 * on the thread pool: the grace period runs while the device rules are written, the
 * plan compiled and hutch-init started, and the real attach finds it passed.
 * Measured here: hutch run of /bin/true 65–69 → 60–62 ms (medians), hutch exec
 * 58.7 → 52.4 ms.
 *
 * Root only. A create on a pure v2 host clones straight into its cgroup (no write),
 * so only an exec warms there.
 *
 *   void warmAttachLock('create');   // never rejects; callers do not wait for it
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hierarchies, processCgroupDir } from './hierarchy';

/** This process' cgroup.procs in a v1 hierarchy (else, if allowed, the v2 one). */
export function ownProcsFile(v2Allowed: boolean): string | undefined {
  const all = hierarchies();
  const chosen = all.find((h) => h.fstype === 'cgroup') ?? (v2Allowed ? all.find((h) => h.fstype === 'cgroup2') : undefined);
  const dir = chosen && processCgroupDir(chosen);
  return dir && path.join(dir, 'cgroup.procs');
}

/** Resolves when the no-op move is done (or was not made); never rejects. */
export function warmAttachLock(op: 'create' | 'exec'): Promise<void> {
  if (process.getuid?.() !== 0) return Promise.resolve();
  let procsFile: string | undefined;
  try {
    procsFile = ownProcsFile(op === 'exec');
  } catch {
    return Promise.resolve(); // no /proc: nothing to warm
  }
  if (!procsFile) return Promise.resolve();
  // Opened here, written on the thread pool: fs.writeFile would queue the write behind
  // the synchronous work it is meant to overlap. An optimisation only: a failure (a
  // cgroup namespace that hides the path) changes nothing.
  let fd: number;
  try {
    fd = fs.openSync(procsFile, 'w');
  } catch {
    return Promise.resolve();
  }
  return new Promise((resolve) => fs.write(fd, String(process.pid), () => fs.close(fd, () => resolve())));
}
