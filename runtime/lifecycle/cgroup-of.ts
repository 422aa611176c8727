/**
 * The cgroup a command needs from a container's record, or the error that it has none
 * (created rootless without a delegated cgroup, or with the `none` manager).
 *
 *   const cgroup = cgroupOf('update', record, ' to update (it was created without one)');
 */
import { HutchError } from '../errors';
import type { ContainerRecord } from '../state/record';

export function cgroupOf(op: string, record: ContainerRecord, why = ''): NonNullable<ContainerRecord['cgroup']> {
  if (!record.cgroup || Object.keys(record.cgroup.dirs).length === 0) {
    throw new HutchError(op, `container ${record.id} has no cgroup${why}`, { kind: 'failed-precondition' });
  }
  return record.cgroup;
}
