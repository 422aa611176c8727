/** `state` and `list`: containers as the OCI state document, with live status. */
import type { OciState } from '../spec/types';
import { liveStatus } from '../state/status';
import { StateStore } from '../state/store';
import { ociState } from './oci-state';

/** `hutch state`: the OCI state, plus the network the container got (when it has one). */
export async function containerState(root: string, id: string): Promise<OciState & { network?: unknown }> {
  const store = new StateStore(root);
  const record = store.read('state', id);
  const state = ociState(record, await liveStatus(store, record));
  return record.network ? { ...state, network: record.network } : state;
}

export async function listContainers(root: string): Promise<OciState[]> {
  const store = new StateStore(root);
  const out: OciState[] = [];
  for (const id of store.list()) {
    try {
      const record = store.read('list', id);
      out.push(ociState(record, await liveStatus(store, record)));
    } catch {
      // deleted while listing
    }
  }
  return out;
}
