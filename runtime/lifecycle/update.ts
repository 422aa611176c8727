/**
 * `update`: new resource limits for a live container. The given sections are merged
 * into what the container has (as runc does: a field left out keeps its value, so
 * `--cpu-quota` alone keeps the period), the merged sections are applied through the
 * cgroup manager — all or nothing — and the result is recorded in the container's
 * state, where the next update and `hutch state`'s callers find it.
 */
import { cgroupManagerOf } from '../../plugins/cgroup/select';
import { validateResources, specField, type FieldNamer } from '../../plugins/cgroup/validate';
import { HutchError } from '../errors';
import { cgroupOf } from './cgroup-of';
import type { LinuxResources } from '../spec/types';
import { liveStatus } from '../state/status';
import { StateStore } from '../state/store';

export interface UpdateOptions {
  root: string;
  id: string;
  /** the sections to change (a `linux.resources` document, possibly partial) */
  resources: LinuxResources;
  /** names fields as the user wrote them (CLI flags) */
  name?: FieldNamer;
  debug?: (msg: string) => void;
}

function byKey<T>(stored: T[] | undefined, given: T[], key: (x: T) => string): T[] {
  const out = new Map((stored ?? []).map((x) => [key(x), x]));
  for (const x of given) out.set(key(x), x);
  return [...out.values()];
}

/**
 * `stored` with `update` laid over it, and the part to apply: every section the
 * update names, with its merged values (a memory limit is written together with the
 * swap limit it must stay below, a quota with its period).
 */
export function mergeResources(stored: LinuxResources | undefined, update: LinuxResources): { merged: LinuxResources; apply: LinuxResources } {
  const s = stored ?? {};
  const merged: LinuxResources = { ...s };
  const apply: LinuxResources = {};
  if (update.memory) {
    const memory = { ...s.memory, ...update.memory };
    // unlimited memory without a word on swap: swap goes unlimited too (runc)
    if (update.memory.limit === -1 && update.memory.swap === undefined) memory.swap = 0;
    merged.memory = apply.memory = memory;
  }
  if (update.cpu) merged.cpu = apply.cpu = { ...s.cpu, ...update.cpu };
  if (update.pids) merged.pids = apply.pids = { ...s.pids, ...update.pids };
  if (update.blockIO) merged.blockIO = apply.blockIO = { ...s.blockIO, ...update.blockIO };
  if (update.network) merged.network = apply.network = { ...s.network, ...update.network };
  if (update.devices) merged.devices = apply.devices = update.devices;
  if (update.hugepageLimits) {
    merged.hugepageLimits = byKey(s.hugepageLimits, update.hugepageLimits, (h) => h.pageSize);
    apply.hugepageLimits = update.hugepageLimits;
  }
  if (update.rdma) {
    merged.rdma = { ...s.rdma, ...update.rdma };
    apply.rdma = update.rdma;
  }
  if (update.unified) {
    merged.unified = { ...s.unified, ...update.unified };
    apply.unified = update.unified;
  }
  return { merged, apply };
}

export async function updateContainer(o: UpdateOptions): Promise<LinuxResources> {
  const op = 'update';
  const name = o.name ?? specField;
  const given = validateResources(op, o.resources, name, true) ?? {};
  const store = new StateStore(o.root);
  const lock = await store.lock(op, o.id);
  try {
    const record = store.read(op, o.id);
    const status = await liveStatus(store, record);
    if (status === 'stopped') throw new HutchError(op, `container not running (${o.id} is stopped)`, { kind: 'failed-precondition' });
    const cgroup = cgroupOf(op, record, ' to update (it was created without one)');
    const { merged, apply } = mergeResources(record.spec.linux?.resources, given);
    await (await cgroupManagerOf(cgroup)).update(cgroup, apply, { devices: record.spec.linux?.devices, name, debug: o.debug });
    record.spec.linux = { ...record.spec.linux, resources: merged };
    store.write(record);
    return merged;
  } finally {
    lock.release();
  }
}
