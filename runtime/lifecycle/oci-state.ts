/** The OCI state document of a container (what `state` prints and hooks read). */
import type { ContainerRecord } from '../state/record';
import type { ContainerStatus, OciState } from '../spec/types';
import { SPEC_VERSION } from '../version';

export function ociState(record: ContainerRecord, status: ContainerStatus): OciState {
  const state: OciState = {
    ociVersion: SPEC_VERSION,
    id: record.id,
    pid: status === 'stopped' ? 0 : record.pid,
    status,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    owner: record.owner,
  };
  if (record.spec.annotations && Object.keys(record.spec.annotations).length) state.annotations = record.spec.annotations;
  return state;
}

/** RFC 3339 with nanoseconds (runc's `created`). */
export function nowRfc3339Nano(): string {
  const now = process.hrtime.bigint();
  const ms = Date.now();
  const nanos = String((ms % 1000) * 1_000_000 + Number(now % 1_000_000n)).padStart(9, '0');
  return `${new Date(ms).toISOString().slice(0, 19)}.${nanos}Z`;
}
