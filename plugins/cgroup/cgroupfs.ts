/**
 * Who creates a container's cgroup: the cgroupfs driver makes the directories itself
 * (mkdir), with what the kernel demands of new directories — v1 cpuset parents get
 * cpus and mems copied down from above, v2 ancestors get the controllers enabled in
 * their cgroup.subtree_control — and removes them (rmdir, deepest first). A systemd
 * driver (transient scopes) would implement the same interface; the v1 and v2 file
 * formats (files-v1.ts, files-v2.ts) do not care which one made the directories.
 *
 * Example:
 *   const made = await cgroupfs.createV1('/hutch/web', hierarchies());
 *   // made.dirs → { cpu: '/sys/fs/cgroup/cpu/hutch/web', memory: …, unified: … }
 *   await made.undo();   // removes what it made, parents included
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import type { Hierarchy } from './hierarchy';
import { mkdirTracked, removeCgroupDir, writeCgroupFile } from './fsutil';

export interface CreatedCgroup {
  /** key in CgroupHandle.dirs → directory */
  dirs: Record<string, string>;
  /** Removes every directory this call made (deepest first). */
  undo(): Promise<void>;
}

export interface CgroupCreator {
  readonly name: string;
  /** One directory per v1 hierarchy (and the v2 one of a hybrid host), keyed by dirKey(). */
  createV1(rel: string, hierarchies: Hierarchy[]): Promise<CreatedCgroup>;
  /** The one v2 directory, with the controllers enabled down to it. */
  createV2(rel: string, root: string): Promise<CreatedCgroup>;
  /** Removes a container's directory and any cgroups made inside it; gone already is fine. */
  remove(dir: string): Promise<void>;
}

/** Key of a hierarchy in CgroupHandle.dirs: "cpu,cpuacct", "memory", "name=systemd", "unified". */
export function dirKey(h: Hierarchy): string {
  return h.fstype === 'cgroup2' ? 'unified' : h.controllers.join(',');
}

function wrap(op: string, rel: string, e: unknown): HutchError {
  if (e instanceof HutchError) return e;
  const err = e as NodeJS.ErrnoException;
  return new HutchError(op, `create cgroup ${rel}: ${err.message}`, { errno: err.code, step: 'cgroup', path: err.path });
}

/** v1 cpuset refuses tasks until cpus and mems are set: copy them down from the parent. */
function initCpuset(created: string[]): void {
  for (const d of created) {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      if (fs.readFileSync(path.join(d, file), 'utf8').trim()) continue;
      writeCgroupFile('create', d, file, fs.readFileSync(path.join(path.dirname(d), file), 'utf8'));
    }
  }
}

function readWords(file: string): string[] {
  try {
    return fs.readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * Enables in `dir`'s cgroup.subtree_control every controller it offers that is not
 * enabled yet (runc enables them all, so a container sees the same set). Writing
 * nothing when all are on keeps us from touching cgroups we did not make.
 */
function enableControllers(dir: string): void {
  const offered = readWords(path.join(dir, 'cgroup.controllers'));
  const enabled = new Set(readWords(path.join(dir, 'cgroup.subtree_control')));
  const missing = offered.filter((c) => !enabled.has(c));
  if (!missing.length) return;
  const file = path.join(dir, 'cgroup.subtree_control');
  try {
    fs.writeFileSync(file, missing.map((c) => `+${c}`).join(' '));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EBUSY') {
      throw new HutchError('create', `cannot enable controllers in ${dir}: it has processes of its own, and cgroup v2 allows controllers only below cgroups without processes (choose another linux.cgroupsPath)`, {
        kind: 'failed-precondition',
        errno: 'EBUSY',
        path: file,
        field: 'linux.cgroupsPath',
      });
    }
    // one at a time: a controller that cannot be enabled here (threaded, rootless) must not stop the others
    for (const c of missing) {
      try {
        fs.writeFileSync(file, `+${c}`);
      } catch {
        // reported later, by the planner, if a resource needs it
      }
    }
  }
}

/** Directories below `dir`, deepest first. */
function subCgroups(dir: string): string[] {
  const out: string[] = [];
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const sub = path.join(dir, e.name);
    out.push(...subCgroups(sub), sub);
  }
  return out;
}

export class CgroupfsCreator implements CgroupCreator {
  readonly name = 'cgroupfs';

  async createV1(rel: string, hierarchies: Hierarchy[]): Promise<CreatedCgroup> {
    const made: string[] = [];
    const dirs: Record<string, string> = {};
    const undo = async (): Promise<void> => {
      for (const d of [...made].reverse()) await removeCgroupDir(d).catch(() => undefined);
    };
    try {
      for (const h of hierarchies) {
        const dir = path.join(h.mountpoint, rel);
        const created = mkdirTracked(dir);
        made.push(...created);
        if (h.controllers.includes('cpuset')) initCpuset(created);
        dirs[dirKey(h)] = dir;
      }
    } catch (e) {
      await undo();
      throw wrap('create', rel, e);
    }
    return { dirs, undo };
  }

  async createV2(rel: string, root: string): Promise<CreatedCgroup> {
    const dir = path.join(root, rel);
    let made: string[] = [];
    const undo = async (): Promise<void> => {
      for (const d of [...made].reverse()) await removeCgroupDir(d).catch(() => undefined);
    };
    try {
      // controllers first enabled from the root down, then the directories
      const parts = rel.split('/').filter(Boolean);
      let at = root;
      for (const part of parts) {
        enableControllers(at);
        at = path.join(at, part);
        made = made.concat(mkdirTracked(at));
      }
    } catch (e) {
      await undo();
      throw wrap('create', rel, e);
    }
    return { dirs: { unified: dir }, undo };
  }

  async remove(dir: string): Promise<void> {
    for (const sub of subCgroups(dir)) await removeCgroupDir(sub);
    await removeCgroupDir(dir);
  }
}

export const cgroupfs = new CgroupfsCreator();
