/**
 * The cgroup v1 format, for v1 hosts and hybrid ones (v2 mounted beside the v1
 * controllers, holding few or none: its directory is made too, for
 * `linux.resources.unified` and a correct /proc/self/cgroup). One directory per
 * hierarchy; the cgroupfs driver (cgroupfs.ts) makes and removes them.
 *
 * Example:
 *   const m = new CgroupV1Manager();
 *   const h = await m.create({ id: 'web', resources: { memory: { limit: 64 << 20 } } });
 *   await m.update(h, { pids: { limit: 100 } });
 *   (await m.stats(h)).metrics.memory?.usage.limit;   // 67108864
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import type { Device, LinuxResources } from '../../runtime/spec/types';
import { warmAttachLock } from './attach-warmup';
import { cgroupfs, dirKey, type CgroupCreator } from './cgroupfs';
import { effectiveRules, emulate, parseDevicesList, v1Transition } from './devices';
import { planV1 } from './files-v1';
import { controllerDirs, makeAndApply, readPidsTree, writeCgroupFile } from './fsutil';
import { hierarchies, v1MissingReason } from './hierarchy';
import type { CgroupHandle, CgroupManager, CgroupMountSource, CgroupRequest, CgroupStats, CgroupUpdateOptions, Disposable } from './manager';
import { watchOomV1 } from './oom';
import { cgroupPath } from './path';
import { hostHugePageSizes, withHostFacts, type PlanContext } from './plan-context';
import { readStatsV1 } from './stats';
import { specField, validateResources, type FieldNamer } from './validate';
import { applyWrites, type Journal } from './writes';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));



export class CgroupV1Manager implements CgroupManager {
  readonly name = 'v1';

  constructor(private readonly creator: CgroupCreator = cgroupfs) {}

  private context(op: string, handle: CgroupHandle, update: boolean, name: FieldNamer): PlanContext {
    const dirs = controllerDirs(handle);
    const parentCpuset = dirs.cpuset ? path.dirname(dirs.cpuset) : undefined;
    return withHostFacts(
      { op, name, update, dirs, missingReason: v1MissingReason },
      parentCpuset && path.join(parentCpuset, 'cpuset.effective_cpus'),
      parentCpuset && path.join(parentCpuset, 'cpuset.effective_mems'),
    );
  }

  /** Files, then devices; a failure puts everything back. */
  private apply(op: string, handle: CgroupHandle, resources: LinuxResources, devices: { rules: LinuxResources['devices']; nodes?: Device[] } | undefined, update: boolean, name: FieldNamer, debug?: (m: string) => void): void {
    const ctx = this.context(op, handle, update, name);
    const journal: Journal = applyWrites(op, ctx.dirs, planV1(resources, ctx), debug);
    if (!devices) return;
    const dir = ctx.dirs.devices;
    if (!dir) {
      // without a devices controller nothing is enforced; say so only when rules were asked for
      if (devices.rules?.length) {
        journal.rollback();
        throw new HutchError(op, `${name('devices')}: the devices controller is ${v1MissingReason('devices')}`, { kind: 'failed-precondition', field: name('devices') });
      }
      return;
    }
    const before = parseDevicesList(fs.readFileSync(path.join(dir, 'devices.list'), 'utf8'));
    const target = emulate(effectiveRules(devices.rules, devices.nodes));
    try {
      applyWrites(op, { devices: dir }, v1Transition(before, target).map((w) => ({ controller: 'devices', file: w.file, value: w.value, field: name('devices') })), debug);
    } catch (e) {
      // devices.allow/deny cannot be read back: restore from the list we read
      const now = parseDevicesList(fs.readFileSync(path.join(dir, 'devices.list'), 'utf8'));
      for (const w of before.exceptionsUnknown ? [] : v1Transition(now, before)) {
        try {
          fs.writeFileSync(path.join(dir, w.file), w.value);
        } catch {
          // best effort; the error below is what matters
        }
      }
      journal.rollback();
      throw e;
    }
  }

  async create(request: CgroupRequest): Promise<CgroupHandle> {
    const op = 'create';
    const resources = validateResources(op, request.resources) ?? {};
    const rel = cgroupPath(op, request.id, request.cgroupsPath);
    return makeAndApply(
      1,
      rel,
      request.rootless,
      Object.keys(resources).length > 0,
      async () => {
        const made = await this.creator.createV1(rel, hierarchies());
        // after the mkdirs: the warm-up holds the cgroup mutex they need while it waits
        void warmAttachLock('create');
        return made;
      },
      (handle) => this.apply(op, handle, resources, { rules: resources.devices, nodes: request.devices }, false, specField, request.debug),
    );
  }

  async attach(handle: CgroupHandle, pid: number): Promise<void> {
    for (const dir of Object.values(handle.dirs)) {
      try {
        // Synchronous on purpose: the first write waits for an RCU grace period, which
        // started at create (attach-warmup.ts) and ran on while hutch-init made its
        // namespaces; the thread pool would add a round trip per file and per syscall.
        fs.writeFileSync(path.join(dir, 'cgroup.procs'), String(pid));
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new HutchError('create', `put pid ${pid} in ${dir}: ${err.message}`, { errno: err.code, path: path.join(dir, 'cgroup.procs'), step: 'cgroup' });
      }
    }
  }

  async update(handle: CgroupHandle, resources: LinuxResources, options: CgroupUpdateOptions = {}): Promise<void> {
    const op = 'update';
    const name = options.name ?? specField;
    const valid = validateResources(op, resources, name) ?? {};
    const devices = valid.devices !== undefined ? { rules: valid.devices, nodes: options.devices } : undefined;
    this.apply(op, handle, valid, devices, true, name, options.debug);
  }

  private freezerDir(op: string, handle: CgroupHandle): string {
    const dir = handle.dirs.freezer;
    if (!dir) throw new HutchError(op, `the freezer controller is ${v1MissingReason('freezer')}`, { kind: 'failed-precondition' });
    return dir;
  }

  async setFrozen(handle: CgroupHandle, frozen: boolean): Promise<void> {
    const op = frozen ? 'pause' : 'resume';
    const dir = this.freezerDir(op, handle);
    const write = (state: string): void => writeCgroupFile(op, dir, 'freezer.state', state);
    if (!frozen) {
      write('THAWED');
      return;
    }
    // FREEZING is transitional; a task stuck in the kernel can keep it there. Ask again
    // for a while (runc does), then give up and thaw rather than leave it half frozen.
    for (let attempt = 0; attempt < 1000; attempt++) {
      write('FROZEN');
      if ((await this.freezerState(handle)) === 'frozen') return;
      await sleep(attempt < 10 ? 1 : 10);
    }
    write('THAWED');
    throw new HutchError(op, `the processes in ${dir} did not freeze (still FREEZING)`, { kind: 'unavailable' });
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

  /** Every pid in the container's cgroup and the cgroups it made below it. */
  async pids(handle: CgroupHandle): Promise<number[]> {
    const dirs = controllerDirs(handle);
    const dir = dirs.pids ?? dirs.devices ?? dirs.memory ?? Object.values(handle.dirs)[0];
    return dir ? readPidsTree(dir) : [];
  }

  async signalAll(handle: CgroupHandle, signal: number): Promise<void> {
    const canFreeze = !!handle.dirs.freezer && fs.existsSync(handle.dirs.freezer);
    const wasFrozen = canFreeze && (await this.freezerState(handle)) === 'frozen';
    // Frozen, nothing can fork a child we would miss; SIGKILL still lands on frozen tasks.
    if (canFreeze && !wasFrozen) await this.setFrozen(handle, true);
    try {
      for (const pid of await this.pids(handle)) {
        try {
          process.kill(pid, signal);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
        }
      }
    } finally {
      // v1 frozen tasks die of SIGKILL only once thawed
      if (canFreeze && (!wasFrozen || signal === 9)) await this.setFrozen(handle, false);
    }
  }

  async stats(handle: CgroupHandle): Promise<CgroupStats> {
    return { version: 1, metrics: readStatsV1(controllerDirs(handle), hostHugePageSizes()) };
  }

  watchOom(handle: CgroupHandle, onOom: () => void, onGone?: () => void): Disposable {
    const dir = handle.dirs.memory;
    if (!dir) throw new HutchError('events', `the memory controller is ${v1MissingReason('memory')}`, { kind: 'failed-precondition' });
    return watchOomV1(dir, onOom, onGone);
  }

  mountSources(handle: CgroupHandle): CgroupMountSource[] {
    const out: CgroupMountSource[] = [];
    for (const h of hierarchies()) {
      const dir = handle.dirs[dirKey(h)];
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
      // SIGKILLed tasks leave the cgroup as they exit; bounded wait
      for (let i = 0; i < 1000 && (await this.pids(handle)).length > 0; i++) await sleep(i < 20 ? 1 : 5);
    }
    for (const dir of existing) await this.creator.remove(dir);
  }
}
