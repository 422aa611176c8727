/**
 * Checks the shape and ranges of OCI `linux.resources` before anything is written,
 * independent of the host (which controllers exist is checked by the v1/v2 file
 * planners). Every error names the field: `linux.resources.memory.limit: -5 is not a
 * valid limit (want -1 for unlimited, or a positive number of bytes)`.
 *
 * Example:
 *   validateResources('create', spec.linux?.resources);            // throws HutchError
 *   validateResources('update', doc, (f) => `--memory` ...);        // names a CLI flag
 */
import { HutchError } from '../../runtime/errors';
import type { LinuxResources } from '../../runtime/spec/types';
import { parseCpuList } from './convert';

/** Turns a field path under linux.resources ("memory.limit") into what the user wrote. */
export type FieldNamer = (path: string) => string;

export const specField: FieldNamer = (p) => `linux.resources.${p}`;

export function resourceError(op: string, field: string, problem: string): HutchError {
  return new HutchError(op, `${field}: ${problem}`, { kind: 'invalid-argument', field });
}

class Checker {
  constructor(
    readonly op: string,
    readonly name: FieldNamer,
  ) {}

  fail(path: string, problem: string): never {
    throw resourceError(this.op, this.name(path), problem);
  }

  object(v: unknown, path: string): Record<string, unknown> | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(path, `must be an object, not ${JSON.stringify(v)}`);
    return v as Record<string, unknown>;
  }

  array(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) this.fail(path, `must be an array, not ${JSON.stringify(v)}`);
    return v;
  }

  integer(v: unknown, path: string): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(path, `must be an integer, not ${JSON.stringify(v)}`);
    return v;
  }

  /** -1 (unlimited), 0 (unset) or a positive amount. */
  limit(v: unknown, path: string, unit: string): number | undefined {
    const n = this.integer(v, path);
    if (n !== undefined && n < -1) this.fail(path, `${n} is not a valid limit (want -1 for unlimited, or a positive number of ${unit})`);
    return n;
  }

  range(v: unknown, path: string, min: number, max: number, zeroMeansUnset = true): number | undefined {
    const n = this.integer(v, path);
    if (n === undefined || (zeroMeansUnset && n === 0)) return n;
    if (n < min || n > max) this.fail(path, `${n} is out of range (${min}–${max})`);
    return n;
  }

  nonNegative(v: unknown, path: string): number | undefined {
    const n = this.integer(v, path);
    if (n !== undefined && n < 0) this.fail(path, `${n} is negative`);
    return n;
  }

  string(v: unknown, path: string): string | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.fail(path, `must be a string, not ${JSON.stringify(v)}`);
    return v;
  }

  boolean(v: unknown, path: string): boolean | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') this.fail(path, `must be true or false, not ${JSON.stringify(v)}`);
    return v;
  }
}

function checkMemory(c: Checker, m: Record<string, unknown>, partial: boolean): void {
  const limit = c.limit(m.limit, 'memory.limit', 'bytes');
  c.limit(m.reservation, 'memory.reservation', 'bytes');
  const swap = c.limit(m.swap, 'memory.swap', 'bytes');
  c.limit(m.kernel, 'memory.kernel', 'bytes');
  c.limit(m.kernelTCP, 'memory.kernelTCP', 'bytes');
  const swappiness = c.integer(m.swappiness, 'memory.swappiness');
  // -1 is how Docker and runc's Go types say "not set"
  if (swappiness !== undefined && (swappiness < -1 || swappiness > 100)) c.fail('memory.swappiness', `${swappiness} is out of range (0–100)`);
  c.boolean(m.disableOOMKiller, 'memory.disableOOMKiller');
  c.boolean(m.useHierarchy, 'memory.useHierarchy');
  c.boolean(m.checkBeforeUpdate, 'memory.checkBeforeUpdate');
  if (!partial && swap !== undefined && swap > 0) {
    if (limit === undefined || limit <= 0) c.fail('memory.swap', `cannot limit memory+swap to ${swap} without a memory limit (${c.name('memory.limit')})`);
    if (swap < limit) c.fail('memory.swap', `${swap} is below the memory limit ${limit} (${c.name('memory.swap')} limits memory plus swap)`);
  }
}

function checkCpuList(c: Checker, v: unknown, path: string): void {
  const s = c.string(v, path);
  if (s === undefined || s.trim() === '') return;
  try {
    parseCpuList(s);
  } catch (e) {
    c.fail(path, `"${s}" is not a CPU or node list like "0-3,6": ${(e as Error).message}`);
  }
}

function checkCpu(c: Checker, cpu: Record<string, unknown>): void {
  // the kernel clamps shares to 2–262144 in v1; runc refuses what would be clamped
  c.range(cpu.shares, 'cpu.shares', 2, 262144);
  const quota = c.integer(cpu.quota, 'cpu.quota');
  if (quota !== undefined && quota !== 0 && quota !== -1 && quota < 1000) {
    c.fail('cpu.quota', `${quota} is not valid (want -1 for no limit, or at least 1000 µs)`);
  }
  c.range(cpu.period, 'cpu.period', 1000, 1_000_000);
  c.nonNegative(cpu.burst, 'cpu.burst');
  c.limit(cpu.realtimeRuntime, 'cpu.realtimeRuntime', 'µs');
  c.nonNegative(cpu.realtimePeriod, 'cpu.realtimePeriod');
  checkCpuList(c, cpu.cpus, 'cpu.cpus');
  checkCpuList(c, cpu.mems, 'cpu.mems');
  const idle = c.integer(cpu.idle, 'cpu.idle');
  if (idle !== undefined && idle !== 0 && idle !== 1) c.fail('cpu.idle', `${idle} is not valid (want 0 or 1)`);
}

function checkDeviceNumbers(c: Checker, d: Record<string, unknown>, path: string): void {
  const major = c.nonNegative(d.major, `${path}.major`);
  const minor = c.nonNegative(d.minor, `${path}.minor`);
  if (major === undefined) c.fail(`${path}.major`, 'missing');
  if (minor === undefined) c.fail(`${path}.minor`, 'missing');
}

function checkBlockIO(c: Checker, b: Record<string, unknown>): void {
  c.range(b.weight, 'blockIO.weight', 10, 1000);
  c.range(b.leafWeight, 'blockIO.leafWeight', 10, 1000);
  c.array(b.weightDevice, 'blockIO.weightDevice').forEach((x, i) => {
    const path = `blockIO.weightDevice[${i}]`;
    const d = c.object(x, path) ?? c.fail(path, 'must be an object');
    checkDeviceNumbers(c, d, path);
    c.range(d.weight, `${path}.weight`, 10, 1000);
    c.range(d.leafWeight, `${path}.leafWeight`, 10, 1000);
  });
  for (const key of ['throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice']) {
    c.array(b[key], `blockIO.${key}`).forEach((x, i) => {
      const path = `blockIO.${key}[${i}]`;
      const d = c.object(x, path) ?? c.fail(path, 'must be an object');
      checkDeviceNumbers(c, d, path);
      if (c.nonNegative(d.rate, `${path}.rate`) === undefined) c.fail(`${path}.rate`, 'missing');
    });
  }
}

export const DEVICE_TYPES = ['a', 'b', 'c'];

function checkDevices(c: Checker, list: unknown): void {
  c.array(list, 'devices').forEach((x, i) => {
    const path = `devices[${i}]`;
    const d = c.object(x, path) ?? c.fail(path, 'must be an object');
    if (c.boolean(d.allow, `${path}.allow`) === undefined) c.fail(`${path}.allow`, 'missing (true or false)');
    const type = c.string(d.type, `${path}.type`);
    if (type !== undefined && !DEVICE_TYPES.includes(type)) c.fail(`${path}.type`, `"${type}" is not a device type (want "a", "b" or "c")`);
    for (const k of ['major', 'minor']) {
      const n = c.integer(d[k], `${path}.${k}`);
      if (n !== undefined && n < -1) c.fail(`${path}.${k}`, `${n} is not a device number (want -1 or null for any)`);
    }
    const access = c.string(d.access, `${path}.access`);
    if (access !== undefined && !/^[rwm]+$/.test(access)) c.fail(`${path}.access`, `"${access}" is not an access mode (letters of "rwm")`);
  });
}

/** "2MB", "1GB", "64KB" — the page sizes runc and the kernel's hugetlb files use. */
export const PAGE_SIZE = /^(\d+)(KB|MB|GB|TB|PB)$/;

function checkHugepages(c: Checker, list: unknown): void {
  c.array(list, 'hugepageLimits').forEach((x, i) => {
    const path = `hugepageLimits[${i}]`;
    const h = c.object(x, path) ?? c.fail(path, 'must be an object');
    const size = c.string(h.pageSize, `${path}.pageSize`);
    if (size === undefined || !PAGE_SIZE.test(size)) c.fail(`${path}.pageSize`, `${JSON.stringify(size)} is not a page size like "2MB"`);
    if (c.nonNegative(h.limit, `${path}.limit`) === undefined) c.fail(`${path}.limit`, 'missing');
  });
}

function checkNetwork(c: Checker, n: Record<string, unknown>): void {
  const id = c.nonNegative(n.classID, 'network.classID');
  if (id !== undefined && id > 0xffffffff) c.fail('network.classID', `${id} does not fit in 32 bits`);
  c.array(n.priorities, 'network.priorities').forEach((x, i) => {
    const path = `network.priorities[${i}]`;
    const p = c.object(x, path) ?? c.fail(path, 'must be an object');
    const name = c.string(p.name, `${path}.name`);
    if (!name || !/^[^\s/]{1,15}$/.test(name)) c.fail(`${path}.name`, `${JSON.stringify(name)} is not an interface name`);
    c.nonNegative(p.priority, `${path}.priority`);
  });
}

function checkRdma(c: Checker, r: Record<string, unknown>): void {
  for (const [dev, v] of Object.entries(r)) {
    const path = `rdma.${dev}`;
    if (!/^[\w.-]+$/.test(dev)) c.fail(path, `"${dev}" is not an RDMA device name`);
    const e = c.object(v, path) ?? c.fail(path, 'must be an object');
    c.nonNegative(e.hcaHandles, `${path}.hcaHandles`);
    c.nonNegative(e.hcaObjects, `${path}.hcaObjects`);
  }
}

/** Files a unified key may not name: they are operations, not resources. */
const UNIFIED_FORBIDDEN = new Set(['cgroup.procs', 'cgroup.threads', 'cgroup.subtree_control', 'cgroup.kill', 'cgroup.freeze', 'cgroup.type', 'cgroup.events', 'cgroup.controllers']);

export const UNIFIED_KEY = /^[a-z][a-z0-9_]*\.[a-z0-9_.]+$/;

function checkUnified(c: Checker, u: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(u)) {
    const path = `unified.${key}`;
    if (!UNIFIED_KEY.test(key) || key.includes('..')) c.fail(path, `"${key}" is not a cgroup v2 file name like "memory.high"`);
    if (UNIFIED_FORBIDDEN.has(key)) c.fail(path, `"${key}" cannot be set as a resource`);
    if (typeof value !== 'string') c.fail(path, `the value must be a string, not ${JSON.stringify(value)}`);
  }
}

/**
 * Throws a HutchError naming the first bad field; returns the resources typed.
 * `partial`: an update's fragment, whose cross-field rules (swap ≥ memory) wait for
 * the merge with what the container has.
 */
export function validateResources(op: string, resources: unknown, name: FieldNamer = specField, partial = false): LinuxResources | undefined {
  const c = new Checker(op, name);
  const r = c.object(resources, '');
  if (!r) return undefined;
  const memory = c.object(r.memory, 'memory');
  if (memory) checkMemory(c, memory, partial);
  const cpu = c.object(r.cpu, 'cpu');
  if (cpu) checkCpu(c, cpu);
  const pids = c.object(r.pids, 'pids');
  if (pids) c.limit(pids.limit, 'pids.limit', 'processes');
  const blockIO = c.object(r.blockIO, 'blockIO');
  if (blockIO) checkBlockIO(c, blockIO);
  checkDevices(c, r.devices);
  checkHugepages(c, r.hugepageLimits);
  const network = c.object(r.network, 'network');
  if (network) checkNetwork(c, network);
  const rdma = c.object(r.rdma, 'rdma');
  if (rdma) checkRdma(c, rdma);
  const unified = c.object(r.unified, 'unified');
  if (unified) checkUnified(c, unified);
  return r as LinuxResources;
}
