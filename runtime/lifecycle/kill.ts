/**
 * `kill`: a signal to the init (through a pidfd, after checking it is still the
 * same process), or with `all` to every process in the container's cgroup.
 */
import { native } from '../../addon';
import { cgroupManagerOf } from '../../plugins/cgroup/select';
import { HutchError } from '../errors';
import { closeQuietly } from '../launch/sync-channel';
import type { ContainerRecord } from '../state/record';
import { isSameLiveProcess } from '../state/proc';
import { liveStatus } from '../state/status';
import { StateStore } from '../state/store';

export interface KillOptions {
  root: string;
  id: string;
  signal: number;
  all?: boolean;
}

/** Signals the init if it is still the recorded process; false when it is gone. */
export function signalInit(record: ContainerRecord, signal: number): boolean {
  const nativeOps = native();
  let pidfd: number;
  try {
    pidfd = nativeOps.pidfdOpen(record.pid);
  } catch {
    return false;
  }
  try {
    // the pidfd pins the pid: checking after opening is race-free
    if (!isSameLiveProcess(record.pid, record.pidStartTime)) return false;
    nativeOps.pidfdSendSignal(pidfd, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  } finally {
    closeQuietly(pidfd);
  }
}

export async function killContainer(o: KillOptions): Promise<void> {
  const op = 'kill';
  const store = new StateStore(o.root);
  const record = store.read(op, o.id);
  const status = await liveStatus(store, record);
  if (o.all && record.cgroup) {
    await (await cgroupManagerOf(record.cgroup)).signalAll(record.cgroup, o.signal);
    return;
  }
  if (status === 'stopped' || !signalInit(record, o.signal)) {
    throw new HutchError(op, 'container not running', { kind: 'not-found', errno: 'ESRCH' });
  }
}
