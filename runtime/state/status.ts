/**
 * The live status of a container, derived as runc does: the init alive (same start
 * time) → created while exec.fifo exists, else running (paused when frozen); dead,
 * zombie or a reused pid → stopped.
 */
import * as fs from 'node:fs';
import { cgroupManagerOf } from '../../plugins/cgroup/select';
import type { ContainerStatus } from '../spec/types';
import type { ContainerRecord } from './record';
import { isSameLiveProcess } from './proc';
import type { StateStore } from './store';

export async function liveStatus(store: StateStore, record: ContainerRecord): Promise<ContainerStatus> {
  if (!isSameLiveProcess(record.pid, record.pidStartTime)) {
    return record.status === 'creating' && record.pid === 0 ? 'creating' : 'stopped';
  }
  if (record.status === 'creating') return 'creating';
  // frozen wins over created, as in runc: a paused container that was never started is paused
  if (record.cgroup) {
    const freezer = await (await cgroupManagerOf(record.cgroup)).freezerState(record.cgroup);
    if (freezer === 'frozen') return 'paused';
    if (freezer === 'freezing') return 'pausing';
  }
  if (fs.existsSync(store.execFifoPath(record.id))) return 'created';
  return 'running';
}
