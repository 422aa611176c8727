/**
 * `pause` and `resume`: freeze and thaw every process of a container through its
 * cgroup's freezer. As in runc, a created or running container can be paused (status
 * `paused`), only a paused one resumed; the messages are runc's ("container not
 * running", "container not paused"), which callers match on.
 */
import { cgroupManagerOf } from '../../plugins/cgroup/select';
import { HutchError } from '../errors';
import { cgroupOf } from './cgroup-of';
import { liveStatus } from '../state/status';
import { StateStore } from '../state/store';

export interface PauseOptions {
  root: string;
  id: string;
}

async function setPaused(op: 'pause' | 'resume', o: PauseOptions): Promise<void> {
  const store = new StateStore(o.root);
  const lock = await store.lock(op, o.id);
  try {
    const record = store.read(op, o.id);
    const status = await liveStatus(store, record);
    if (op === 'pause' && status !== 'running' && status !== 'created') {
      throw new HutchError(op, `container not running (${o.id} is ${status})`, { kind: 'failed-precondition' });
    }
    if (op === 'resume' && status !== 'paused' && status !== 'pausing') {
      throw new HutchError(op, `container not paused (${o.id} is ${status})`, { kind: 'failed-precondition' });
    }
    const cgroup = cgroupOf(op, record, ' to freeze (it was created without one)');
    await (await cgroupManagerOf(cgroup)).setFrozen(cgroup, op === 'pause');
  } finally {
    lock.release();
  }
}

export function pauseContainer(o: PauseOptions): Promise<void> {
  return setPaused('pause', o);
}

export function resumeContainer(o: PauseOptions): Promise<void> {
  return setPaused('resume', o);
}
