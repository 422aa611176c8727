/**
 * The cgroup v2 format (unified hosts): one directory, controllers enabled in the
 * ancestors' cgroup.subtree_control by the cgroupfs driver, devices through an eBPF
 * program, freeze through cgroup.freeze, kill through cgroup.kill. The first process
 * starts inside it with clone3(CLONE_INTO_CGROUP).
 *
 * Example:
 *   const m = new CgroupV2Manager();
 *   const h = await m.create({ id: 'web', resources: { memory: { limit: 64 << 20, swap: 128 << 20 } } });
 *   // memory.max = 67108864, memory.swap.max = 67108864
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import type { Device, LinuxResources } from '../../runtime/spec/types';
import { cgroupfs, type CgroupCreator } from './cgroupfs';
import { bpfRules, effectiveRules, emulate } from './devices';
import { planV2 } from './files-v2';
import { unifiedHierarchy } from './hierarchy';
import type { CgroupHandle, CgroupManager, CgroupMountSource, CgroupRequest, CgroupStats, CgroupUpdateOptions, Disposable } from './manager';
import { watchOomV2 } from './oom';
import { cgroupPath } from './path';
import { makeAndApply, readPidsTree, writeCgroupFile } from './fsutil';
import { hostHugePageSizes, withHostFacts, type PlanContext } from './plan-context';
import { readStatsV2 } from './stats';
import { specField, validateResources, type FieldNamer } from './validate';
import { applyWrites } from './writes';


function unifiedRoot(op: string): string {
  const h = unifiedHierarchy();
  if (!h) throw new HutchError(op, 'no cgroup2 hierarchy is mounted', { kind: 'failed-precondition' });
  return h.mountpoint;
}


/** Resolves once cgroup.events shows `key value` (frozen 1, populated 0), or false after the bound. */
async function waitForEvent(dir: string, key: string, value: string, timeoutMs: number): Promise<boolean> {
  const file = path.join(dir, 'cgroup.events');
  const reached = (): boolean | undefined => {
    try {
      return new RegExp(`^${key} ${value}$`, 'm').test(fs.readFileSync(file, 'utf8'));
    } catch {
      return undefined; // gone
    }
  };
  const now = reached();
  if (now !== false) return now ?? key === 'populated';
  // cgroup.events is marked modified on each change: inotify, no polling
  return new Promise((resolve) => {
    let watcher: fs.FSWatcher | undefined;
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      watcher?.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(reached() === true), timeoutMs);
    try {
      watcher = fs.watch(file, () => {
        const r = reached();
        if (r !== false) done(r ?? key === 'populated');
      });
      watcher.on('error', () => done(key === 'populated'));
    } catch {
      done(key === 'populated');
      return;
    }
    // it may have changed between the first read and the watch
    const r = reached();
    if (r !== false) done(r ?? key === 'populated');
  });
}

export class CgroupV2Manager implements CgroupManager {
  readonly name = 'v2';

  constructor(private readonly creator: CgroupCreator = cgroupfs) {}

  private context(op: string, handle: CgroupHandle, update: boolean, name: FieldNamer): PlanContext {
    const parent = path.dirname(handle.dirs.unified);
    return withHostFacts(
      { op, name, update, dirs: { unified: handle.dirs.unified }, missingReason: () => 'not available' },
      path.join(parent, 'cpuset.cpus.effective'),
      path.join(parent, 'cpuset.mems.effective'),
    );
  }

  /** Files, then the device program; a failure puts the files back. */
  private apply(op: string, handle: CgroupHandle, resources: LinuxResources, devices: { rules: LinuxResources['devices']; nodes?: Device[] } | undefined, update: boolean, name: FieldNamer, debug?: (m: string) => void): void {
    const ctx = this.context(op, handle, update, name);
    const journal = applyWrites(op, ctx.dirs, planV2(resources, ctx), debug);
    if (!devices) return;
    const state = emulate(effectiveRules(devices.rules, devices.nodes));
    try {
      native().attachDeviceFilter(handle.dirs.unified, bpfRules(state), state.defaultAllow);
      debug?.(`cgroup: device program attached to ${handle.dirs.unified} (${state.exceptions.length} rules, default ${state.defaultAllow ? 'allow' : 'deny'})`);
    } catch (e) {
      journal.rollback();
      const err = e as NodeJS.ErrnoException & { verifierLog?: string };
      throw new HutchError(op, `${name('devices')}: cannot attach the device program to ${handle.dirs.unified}: ${err.message}${err.verifierLog ? ` (verifier: ${err.verifierLog.trim()})` : ''}`, {
        errno: err.code,
        field: name('devices'),
        path: handle.dirs.unified,
      });
    }
  }

  async create(request: CgroupRequest): Promise<CgroupHandle> {
    const op = 'create';
    const resources = validateResources(op, request.resources) ?? {};
    const rel = cgroupPath(op, request.id, request.cgroupsPath);
    return makeAndApply(
      2,
      rel,
      request.rootless,
      Object.keys(resources).length > 0,
      () => this.creator.createV2(rel, unifiedRoot(op)),
      (handle) => this.apply(op, handle, resources, { rules: resources.devices, nodes: request.devices }, false, specField, request.debug),
    );
  }

  async attach(handle: CgroupHandle, pid: number): Promise<void> {
    if (!handle.dirs.unified) return;
    try {
      fs.writeFileSync(path.join(handle.dirs.unified, 'cgroup.procs'), String(pid));
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new HutchError('create', `put pid ${pid} in ${handle.dirs.unified}: ${err.message}`, { errno: err.code, path: handle.dirs.unified, step: 'cgroup' });
    }
  }

  openForClone(handle: CgroupHandle): number | undefined {
    if (!handle.dirs.unified) return undefined;
    return fs.openSync(handle.dirs.unified, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  }

  async update(handle: CgroupHandle, resources: LinuxResources, options: CgroupUpdateOptions = {}): Promise<void> {
    const op = 'update';
    const name = options.name ?? specField;
    const valid = validateResources(op, resources, name) ?? {};
    const devices = valid.devices !== undefined ? { rules: valid.devices, nodes: options.devices } : undefined;
    this.apply(op, handle, valid, devices, true, name, options.debug);
  }

  async setFrozen(handle: CgroupHandle, frozen: boolean): Promise<void> {
    const op = frozen ? 'pause' : 'resume';
    const dir = handle.dirs.unified;
    writeCgroupFile(op, dir, 'cgroup.freeze', frozen ? '1' : '0');
    if (!frozen) return;
    if (!(await waitForEvent(dir, 'frozen', '1', 10_000))) {
      fs.writeFileSync(path.join(dir, 'cgroup.freeze'), '0');
      throw new HutchError(op, `the processes in ${dir} did not freeze`, { kind: 'unavailable' });
    }
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
    return handle.dirs.unified ? readPidsTree(handle.dirs.unified) : [];
  }

  async signalAll(handle: CgroupHandle, signal: number): Promise<void> {
    const dir = handle.dirs.unified;
    if (!dir || !fs.existsSync(dir)) return;
    if (signal === 9 && fs.existsSync(path.join(dir, 'cgroup.kill'))) {
      fs.writeFileSync(path.join(dir, 'cgroup.kill'), '1');
      return;
    }
    const wasFrozen = (await this.freezerState(handle)) === 'frozen';
    if (!wasFrozen) await this.setFrozen(handle, true);
    try {
      for (const pid of await this.pids(handle)) {
        try {
          process.kill(pid, signal);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
        }
      }
    } finally {
      if (!wasFrozen) await this.setFrozen(handle, false);
    }
  }

  async stats(handle: CgroupHandle): Promise<CgroupStats> {
    return { version: 2, metrics: readStatsV2(handle.dirs.unified, hostHugePageSizes()) };
  }

  watchOom(handle: CgroupHandle, onOom: () => void, onGone?: () => void): Disposable {
    return watchOomV2(handle.dirs.unified, onOom, onGone);
  }

  /**
   * The container's own directory as the root of its /sys/fs/cgroup: mounted fresh
   * in a cgroup namespace (whose root it is), bind-mounted without one — so the
   * container sees its own limits at /sys/fs/cgroup either way, never the host's tree.
   */
  mountSources(handle: CgroupHandle): CgroupMountSource[] {
    if (!handle.dirs.unified) return [];
    return [{ name: '', fstype: 'cgroup2', hostDir: handle.dirs.unified, links: [] }];
  }

  async destroy(handle: CgroupHandle): Promise<void> {
    const dir = handle.dirs.unified;
    if (!dir || !fs.existsSync(dir)) return;
    if ((await this.pids(handle)).length > 0) {
      await this.signalAll(handle, 9);
      await waitForEvent(dir, 'populated', '0', 10_000);
    }
    await this.creator.remove(dir);
  }
}
