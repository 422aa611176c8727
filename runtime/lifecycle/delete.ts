/**
 * `delete`: destroys a stopped (or, like runc, a created) container; with `force`
 * also a running or paused one, after SIGKILL to everything in it. Then: the cgroup
 * (and what is left in it), the state directory, and the poststop hooks, whose
 * failure is a warning. Already gone is fine with `force`.
 */
import * as fs from 'node:fs';
import { native } from '../../addon';
import { cgroupManagerOf } from '../../plugins/cgroup/select';
import { HutchError } from '../errors';
import { runHooks } from '../hooks';
import { closeQuietly } from '../launch/sync-channel';
import type { ContainerRecord } from '../state/record';
import { isSameLiveProcess } from '../state/proc';
import { liveStatus } from '../state/status';
import { StateStore, validateId } from '../state/store';
import { signalInit } from './kill';
import { networkForDelete } from './network';
import { ociState } from './oci-state';

export interface DeleteOptions {
  root: string;
  id: string;
  force?: boolean;
  warn?: (msg: string) => void;
  /** --config: where the network plugin that set the container up finds its settings */
  configPath?: string;
}

/** Resolves when the recorded init has exited (it is not our child: no reaping). */
function waitForExit(record: ContainerRecord, timeoutMs: number): Promise<boolean> {
  const nativeOps = native();
  let pidfd: number;
  try {
    pidfd = nativeOps.pidfdOpen(record.pid);
  } catch {
    return Promise.resolve(true);
  }
  if (!isSameLiveProcess(record.pid, record.pidStartTime)) {
    closeQuietly(pidfd);
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      watch.close();
      closeQuietly(pidfd);
      resolve(false);
    }, timeoutMs);
    const watch = nativeOps.watchExit(pidfd, false, () => {
      clearTimeout(timer);
      closeQuietly(pidfd);
      resolve(true);
    });
  });
}

async function killEverything(record: ContainerRecord): Promise<void> {
  if (record.cgroup) await (await cgroupManagerOf(record.cgroup)).signalAll(record.cgroup, 9);
  signalInit(record, 9);
  if (!(await waitForExit(record, 10_000))) throw new HutchError('delete', `container init (pid ${record.pid}) did not exit after SIGKILL`);
}

/** Frees everything a container holds; every step tolerates already-gone. */
export async function destroyContainer(store: StateStore, record: ContainerRecord, warn?: (msg: string) => void, configPath?: string): Promise<void> {
  if (record.cgroup) await (await cgroupManagerOf(record.cgroup)).destroy(record.cgroup);
  if (record.network) {
    const plugin = await networkForDelete(record.network, configPath);
    await plugin?.teardown({ id: record.id, netnsPath: `/proc/${record.pid}/ns/net`, result: record.network, annotations: record.spec.annotations });
  }
  // a bundle made by `hutch bundle` from an image: its rootfs snapshot goes with the container
  if (record.spec.annotations?.['io.hutch.snapshot']) {
    const { releaseBundleSnapshot } = require('../../plugins/images/release') as typeof import('../../plugins/images/release');
    await releaseBundleSnapshot(record.spec.annotations);
  }
  store.remove(record.id);
  try {
    await runHooks('delete', 'poststop', record.spec.hooks?.poststop, ociState(record, 'stopped'), record.bundle);
  } catch (e) {
    warn?.(`poststop hook failed: ${(e as Error).message}`);
  }
}

export async function deleteContainer(o: DeleteOptions): Promise<void> {
  const op = 'delete';
  const store = new StateStore(o.root);
  validateId(op, o.id);
  if (!fs.existsSync(store.dir(o.id))) {
    if (o.force) return;
    throw new HutchError(op, `container "${o.id}" does not exist`, { kind: 'not-found', errno: 'ENOENT' });
  }
  if (!store.exists(o.id)) {
    // a create that died before writing any state: nothing else can exist
    store.remove(o.id);
    return;
  }
  const lock = await store.lock(op, o.id);
  try {
    const record = store.read(op, o.id);
    let status = await liveStatus(store, record);
    // We hold the lock, so a "creating" record is a create that died midway.
    if (status === 'creating') status = 'stopped';
    if (status === 'running' || status === 'paused' || status === 'pausing') {
      if (!o.force) {
        throw new HutchError(op, `cannot delete container ${o.id} that is not stopped: ${status} (use --force)`, { kind: 'failed-precondition' });
      }
      await killEverything(record);
    } else if (status === 'created') {
      await killEverything(record);
    }
    await destroyContainer(store, record, o.warn, o.configPath);
  } finally {
    lock.release();
  }
}
