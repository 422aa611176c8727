/**
 * cgroup v1 (and hybrid hosts, where v2 is mounted beside the v1 controllers but
 * holds none of them): one directory per hierarchy. This is the foundation's
 * minimal manager — create, attach, freeze, list, signal, destroy; resources are
 * the full manager's job.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import type { LinuxResources } from '../../runtime/spec/types';
import { hierarchies, type Hierarchy } from './hierarchy';
import { cgroupPath } from './path';
import { mkdirTracked, readPids, removeCgroupDir, writeCgroupFile } from './fsutil';
import type { CgroupHandle, CgroupManager, CgroupMountSource, CgroupRequest, CgroupStats, Disposable } from './manager';

/** Key of a hierarchy in CgroupHandle.dirs: "cpu", "cpuset", "name=systemd", "unified". */
function keyOf(h: Hierarchy): string {
  return h.fstype === 'cgroup2' ? 'unified' : h.controllers.join(',');
}

/** cpuset refuses tasks until cpus and mems are set: copy them down from the parent. */
function initCpuset(dir: string, created: string[]): void {
  for (const d of created) {
    for (const file of ['cpuset.cpus', 'cpuset.mems']) {
      const own = fs.readFileSync(path.join(d, file), 'utf8').trim();
      if (own) continue;
      const parent = fs.readFileSync(path.join(path.dirname(d), file), 'utf8');
      writeCgroupFile('create', d, file, parent);
    }
  }
  void dir;
}

export class CgroupV1Manager implements CgroupManager {
  readonly name = 'v1';

  async create(request: CgroupRequest): Promise<CgroupHandle> {
    const rel = cgroupPath('create', request.id, request.cgroupsPath);
    const handle: CgroupHandle = { version: 1, path: rel, dirs: {} };
    const made: string[] = [];
    try {
      for (const h of hierarchies()) {
        const dir = path.join(h.mountpoint, rel);
        const created = mkdirTracked(dir);
        made.push(...created);
        if (h.controllers.includes('cpuset')) initCpuset(dir, created);
        handle.dirs[keyOf(h)] = dir;
      }
    } catch (e) {
      for (const d of made.reverse()) await removeCgroupDir(d).catch(() => undefined);
      const err = e as NodeJS.ErrnoException;
      if (e instanceof HutchError) throw e;
      throw new HutchError('create', `create cgroup ${rel}: ${err.message}`, { errno: err.code, step: 'cgroup' });
    }
    return handle;
  }

  async attach(handle: CgroupHandle, pid: number): Promise<void> {
    for (const dir of Object.values(handle.dirs)) writeCgroupFile('create', dir, 'cgroup.procs', String(pid));
  }

  async update(_handle: CgroupHandle, _resources: LinuxResources): Promise<void> {
    throw new HutchError('update', 'updating resources needs the full cgroup manager', { kind: 'unimplemented' });
  }

  private freezerDir(handle: CgroupHandle): string {
    const dir = handle.dirs.freezer;
    if (!dir) throw new HutchError('pause', 'the freezer controller is not mounted on this host', { kind: 'failed-precondition' });
    return dir;
  }

  async setFrozen(handle: CgroupHandle, frozen: boolean): Promise<void> {
    const dir = this.freezerDir(handle);
    writeCgroupFile(frozen ? 'pause' : 'resume', dir, 'freezer.state', frozen ? 'FROZEN' : 'THAWED');
    // FREEZING is transitional: wait (bounded) until the kernel reports the final state.
    for (let i = 0; frozen && i < 1000; i++) {
      if ((await this.freezerState(handle)) === 'frozen') return;
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  async freezerState(handle: CgroupHandle): Promise<'frozen' | 'thawed' | 'freezing'> {
    const dir = handle.dirs.freezer;
    if (!dir) return 'thawed';
    try {
      const s = fs.readFileSync(path.join(dir, 'freezer.state'), 'utf8').trim();
      return s === 'FROZEN' ? 'frozen' : s === 'FREEZING' ? 'freezing' : 'thawed';
    } catch {
      return 'thawed';
    }
  }

  async pids(handle: CgroupHandle): Promise<number[]> {
    const dir = handle.dirs.pids ?? handle.dirs.memory ?? Object.values(handle.dirs)[0];
    return dir ? readPids(path.join(dir, 'cgroup.procs')) : [];
  }

  async signalAll(handle: CgroupHandle, signal: number): Promise<void> {
    const canFreeze = !!handle.dirs.freezer && fs.existsSync(handle.dirs.freezer);
    // Frozen, nothing can fork a child we would miss; SIGKILL still lands on frozen tasks.
    if (canFreeze) await this.setFrozen(handle, true);
    try {
      for (const pid of await this.pids(handle)) {
        try {
          process.kill(pid, signal);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
        }
      }
    } finally {
      if (canFreeze) await this.setFrozen(handle, false);
    }
  }

  async stats(_handle: CgroupHandle): Promise<CgroupStats> {
    throw new HutchError('stats', 'stats need the full cgroup manager', { kind: 'unimplemented' });
  }

  watchOom(_handle: CgroupHandle, _onOom: () => void): Disposable {
    return { dispose: () => undefined };
  }

  mountSources(handle: CgroupHandle): CgroupMountSource[] {
    const out: CgroupMountSource[] = [];
    for (const h of hierarchies()) {
      const dir = handle.dirs[keyOf(h)];
      if (!dir) continue;
      const name = path.basename(h.mountpoint);
      const links = h.controllers.length > 1 ? h.controllers.filter((c) => c !== name) : [];
      out.push({ name, fstype: h.fstype, data: h.fstype === 'cgroup' ? h.data : undefined, hostDir: dir, links });
    }
    return out;
  }

  async destroy(handle: CgroupHandle): Promise<void> {
    const existing = Object.values(handle.dirs).filter((d) => fs.existsSync(d));
    if (existing.length === 0) return;
    if ((await this.pids(handle)).length > 0) {
      await this.signalAll(handle, 9);
      for (let i = 0; i < 500 && (await this.pids(handle)).length > 0; i++) await new Promise((r) => setTimeout(r, 2));
    }
    for (const dir of existing) await removeCgroupDir(dir);
  }
}
