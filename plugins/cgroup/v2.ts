/**
 * cgroup v2 (unified hosts): one directory; processes start in it directly with
 * CLONE_INTO_CGROUP. The foundation's minimal manager; resources are the full
 * manager's job.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import type { LinuxResources } from '../../runtime/spec/types';
import { hierarchies } from './hierarchy';
import { cgroupPath } from './path';
import { mkdirTracked, readPids, removeCgroupDir, writeCgroupFile } from './fsutil';
import type { CgroupHandle, CgroupManager, CgroupMountSource, CgroupRequest, CgroupStats, Disposable } from './manager';

function unifiedRoot(): string {
  const h = hierarchies().find((x) => x.fstype === 'cgroup2');
  if (!h) throw new HutchError('create', 'no cgroup2 hierarchy is mounted', { kind: 'failed-precondition' });
  return h.mountpoint;
}

export class CgroupV2Manager implements CgroupManager {
  readonly name = 'v2';

  async create(request: CgroupRequest): Promise<CgroupHandle> {
    const rel = cgroupPath('create', request.id, request.cgroupsPath);
    const dir = path.join(unifiedRoot(), rel);
    try {
      mkdirTracked(dir);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new HutchError('create', `create cgroup ${rel}: ${err.message}`, { errno: err.code, step: 'cgroup' });
    }
    return { version: 2, path: rel, dirs: { unified: dir } };
  }

  async attach(handle: CgroupHandle, pid: number): Promise<void> {
    writeCgroupFile('create', handle.dirs.unified, 'cgroup.procs', String(pid));
  }

  openForClone(handle: CgroupHandle): number | undefined {
    return fs.openSync(handle.dirs.unified, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  }

  async update(_handle: CgroupHandle, _resources: LinuxResources): Promise<void> {
    throw new HutchError('update', 'updating resources needs the full cgroup manager', { kind: 'unimplemented' });
  }

  async setFrozen(handle: CgroupHandle, frozen: boolean): Promise<void> {
    writeCgroupFile(frozen ? 'pause' : 'resume', handle.dirs.unified, 'cgroup.freeze', frozen ? '1' : '0');
  }

  async freezerState(handle: CgroupHandle): Promise<'frozen' | 'thawed' | 'freezing'> {
    try {
      const events = fs.readFileSync(path.join(handle.dirs.unified, 'cgroup.events'), 'utf8');
      const want = fs.readFileSync(path.join(handle.dirs.unified, 'cgroup.freeze'), 'utf8').trim() === '1';
      const frozen = /^frozen 1$/m.test(events);
      return frozen ? 'frozen' : want ? 'freezing' : 'thawed';
    } catch {
      return 'thawed';
    }
  }

  async pids(handle: CgroupHandle): Promise<number[]> {
    return readPids(path.join(handle.dirs.unified, 'cgroup.procs'));
  }

  async signalAll(handle: CgroupHandle, signal: number): Promise<void> {
    if (signal === 9 && fs.existsSync(path.join(handle.dirs.unified, 'cgroup.kill'))) {
      writeCgroupFile('kill', handle.dirs.unified, 'cgroup.kill', '1');
      return;
    }
    await this.setFrozen(handle, true);
    try {
      for (const pid of await this.pids(handle)) {
        try {
          process.kill(pid, signal);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
        }
      }
    } finally {
      await this.setFrozen(handle, false);
    }
  }

  async stats(_handle: CgroupHandle): Promise<CgroupStats> {
    throw new HutchError('stats', 'stats need the full cgroup manager', { kind: 'unimplemented' });
  }

  watchOom(_handle: CgroupHandle, _onOom: () => void): Disposable {
    return { dispose: () => undefined };
  }

  mountSources(handle: CgroupHandle): CgroupMountSource[] {
    return [{ name: '', fstype: 'cgroup2', hostDir: handle.dirs.unified, links: [] }];
  }

  async destroy(handle: CgroupHandle): Promise<void> {
    const dir = handle.dirs.unified;
    if (!fs.existsSync(dir)) return;
    if ((await this.pids(handle)).length > 0) {
      await this.signalAll(handle, 9);
      for (let i = 0; i < 500 && (await this.pids(handle)).length > 0; i++) await new Promise((r) => setTimeout(r, 2));
    }
    await removeCgroupDir(dir);
  }
}
