/** What `<root>/<id>/state.json` holds: the OCI state plus everything later commands need. */
import type { CgroupHandle } from '../../plugins/cgroup/manager';
import type { NetworkResult } from '../../plugins/network/plugin';
import type { Spec } from '../spec/types';

export type RecordedStatus = 'creating' | 'created' | 'running' | 'stopped';

export interface ContainerRecord {
  /** state.json format version */
  version: 1;
  id: string;
  /** absolute bundle directory */
  bundle: string;
  /** absolute rootfs directory */
  rootfs: string;
  /** host pid of the container init; 0 until it exists */
  pid: number;
  /** field 22 of /proc/<pid>/stat when the init was made: tells a live init from pid reuse */
  pidStartTime: string;
  /** RFC 3339 with nanoseconds, as runc writes it */
  created: string;
  owner: string;
  /** what the last writer knew; `status()` derives the live status */
  status: RecordedStatus;
  /** the spec as created (after injection): hooks, process defaults for exec, annotations */
  spec: Spec;
  cgroup?: CgroupHandle;
  network?: NetworkResult;
  rootless: boolean;
}
