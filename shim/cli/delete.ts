/**
 * The `delete` action (the slow path, when the native launcher could not hand it to a
 * live shim): ask the group's live shim through the admin service if one answers at
 * the bundle's `address`, else clean up here. Returns the DeleteResponse bytes, which
 * are all that may go to stdout.
 */
import { hutch } from '../../proto/gen/admin';
import { containerd } from '../../proto/gen/task';
import { HutchError } from '../../runtime/errors';
import { ADMIN_SERVICE } from '../admin/service';
import { cleanupDeadContainer } from '../task/cleanup';
import { TtrpcClient } from '../ttrpc/client';
import { NAMESPACE_KEY } from '../ttrpc/metadata';
import { Code, TtrpcError } from '../ttrpc/status';
import { readAddressFile } from './address';
import type { ShimFlags } from './flags';

/** Codes that mean "no live shim to ask", not "the shim refused". */
const GONE = new Set([Code.Unavailable, Code.DeadlineExceeded]);

async function askLiveShim(address: string, target: { id: string; bundle: string; namespace: string }): Promise<Buffer | undefined> {
  let client: TtrpcClient;
  try {
    // connect takes the `unix://` address as it is
    client = await TtrpcClient.connect(address, { timeoutMs: 2000 });
  } catch {
    return undefined;
  }
  try {
    return await client.callRaw(ADMIN_SERVICE, 'Delete', hutch.shim.v1.DeleteRequest.encode(target).finish(), {
      timeoutMs: 10_000,
      metadata: { [NAMESPACE_KEY]: target.namespace },
    });
  } catch (e) {
    if (e instanceof TtrpcError && GONE.has(e.code)) return undefined;
    throw new HutchError('delete', `group shim at ${address}: ${(e as Error).message}`, { kind: 'internal' });
  } finally {
    client.close();
  }
}

export async function deleteAction(flags: ShimFlags): Promise<Uint8Array> {
  if (!flags.id) throw new HutchError('delete', '-id is required', { kind: 'invalid-argument', field: '-id' });
  const target = { id: flags.id, bundle: flags.bundle || process.cwd(), namespace: flags.namespace };
  const address = readAddressFile(target.bundle);
  if (address) {
    const answer = await askLiveShim(address, target);
    if (answer) return answer;
  }
  return containerd.task.v2.DeleteResponse.encode(await cleanupDeadContainer(target)).finish();
}
