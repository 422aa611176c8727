/** cgroupfs file helpers shared by the v1 and v2 managers. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import type { CgroupHandle } from './manager';

export function writeCgroupFile(op: string, dir: string, file: string, value: string): void {
  try {
    fs.writeFileSync(path.join(dir, file), value);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HutchError(op, `write ${value.trim()} to ${path.join(dir, file)}: ${err.message}`, { errno: err.code, path: path.join(dir, file) });
  }
}

export function readPids(file: string): number[] {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

/** cgroup.procs of `dir` and every cgroup below it. */
export function readPidsTree(dir: string): number[] {
  const pids = readPids(path.join(dir, 'cgroup.procs'));
  let entries: fs.Dirent[] = [];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return pids;
  }
  for (const e of entries) if (e.isDirectory()) pids.push(...readPidsTree(path.join(dir, e.name)));
  return pids;
}

/** controller → directory, co-mounted hierarchies ("cpu,cpuacct") listed under each name. */
export function controllerDirs(handle: CgroupHandle): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, dir] of Object.entries(handle.dirs)) for (const c of key.split(',')) out[c] = dir;
  return out;
}

/** mkdir -p, returning the directories it created (deepest last), for undo. */
export function mkdirTracked(dir: string): string[] {
  const created: string[] = [];
  const missing: string[] = [];
  for (let d = dir; !fs.existsSync(d); d = path.dirname(d)) missing.unshift(d);
  for (const d of missing) {
    try {
      fs.mkdirSync(d);
      created.push(d);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return created;
}

/** rmdir that tolerates already-gone and retries while the kernel still lists dying tasks. */
export async function removeCgroupDir(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      fs.rmdirSync(dir);
      return;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || attempt >= 50) throw e;
      await new Promise((r) => setTimeout(r, Math.min(2 * (attempt + 1), 20)));
    }
  }
}

/** EACCES/EPERM/EROFS, on a plain errno error or a HutchError: no permission to make cgroups. */
export function isPermissionError(e: unknown): boolean {
  const code = (e as { errno?: unknown }).errno ?? (e as NodeJS.ErrnoException).code;
  return code === 'EACCES' || code === 'EPERM' || code === 'EROFS';
}

/**
 * Makes a container's cgroup directories (`make`), then applies its resources
 * (`apply`); what was made is removed again when applying fails. Rootless without a
 * delegated cgroup and without limits asked for: no cgroup (an empty handle), as runc.
 */
export async function makeAndApply(
  version: 1 | 2,
  rel: string,
  rootless: boolean | undefined,
  wantsLimits: boolean,
  make: () => Promise<{ dirs: Record<string, string>; undo(): Promise<void> }>,
  apply: (handle: { version: 1 | 2; path: string; dirs: Record<string, string> }) => void,
): Promise<{ version: 1 | 2; path: string; dirs: Record<string, string> }> {
  let made;
  try {
    made = await make();
  } catch (e) {
    if (rootless && isPermissionError(e) && !wantsLimits) return { version, path: rel, dirs: {} };
    throw e;
  }
  const handle = { version, path: rel, dirs: made.dirs };
  try {
    apply(handle);
  } catch (e) {
    await made.undo();
    throw e;
  }
  return handle;
}
