/**
 * The `delete` action's work for a container whose shim is gone (or that its live
 * shim no longer serves): force-delete it in the runtime (kills what is left, removes
 * its cgroup, network and state), unmount <bundle>/rootfs, and report the init's pid,
 * exit status 137 (128 + SIGKILL, as the runc shim) and the time. Both the `delete`
 * action without a live shim and the admin service's Delete end up here.
 */
import { HutchError } from '../../runtime/errors';
import { deleteContainer } from '../../runtime/lifecycle/delete';
import { StateStore } from '../../runtime/state/store';
import { toTimestamp } from '../timestamp';
import type { DeleteResult, DeleteTarget } from './contract';
import { stateRoot } from './paths';
import { unmountRootfs } from './rootfs';

export const KILLED_EXIT_STATUS = 128 + 9;

export async function cleanupDeadContainer(target: DeleteTarget): Promise<DeleteResult> {
  const root = stateRoot(target.namespace);
  let pid = 0;
  try {
    pid = new StateStore(root).read('delete', target.id).pid;
  } catch (e) {
    if (!(e instanceof HutchError && e.kind === 'not-found')) throw e;
  }
  // the network plugin that set the container up finds its settings in hutch's configuration
  await deleteContainer({ root, id: target.id, force: true, configPath: process.env.HUTCH_CONFIG || undefined });
  unmountRootfs(target.bundle);
  return { pid, exitStatus: KILLED_EXIT_STATUS, exitedAt: toTimestamp() };
}
