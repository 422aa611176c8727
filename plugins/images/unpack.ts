/**
 * Unpacks an image's layers into a snapshotter, as containerd's unpacker does: one
 * committed snapshot per layer, named by its chain id; a layer already there is
 * skipped. Each layer is applied to an `extract-<random> <chain id>` active snapshot
 * and committed; on failure that snapshot is removed, so nothing half-written stays.
 */
import * as crypto from 'node:crypto';
import { HutchError } from '../../runtime/errors';
import type { Snapshotter } from '../snapshotter/snapshotter';
import type { ContentStore } from './content-store';
import type { ImageLayer } from './image-store';
import { applyLayer } from './layer-apply';

export const EXTRACT_PREFIX = 'extract-';

async function exists(sn: Snapshotter, key: string): Promise<boolean> {
  try {
    await sn.stat(key);
    return true;
  } catch (e) {
    if (e instanceof HutchError && e.kind === 'not-found') return false;
    throw e;
  }
}

/** Returns the top chain id. */
export async function unpackLayers(sn: Snapshotter, content: ContentStore, layers: ImageLayer[], diffIds: string[], chain: string[]): Promise<string> {
  for (let i = 0; i < layers.length; i++) {
    if (await exists(sn, chain[i])) continue;
    const key = `${EXTRACT_PREFIX}${crypto.randomBytes(8).toString('hex')} ${chain[i]}`;
    const mounts = await sn.prepare(key, i === 0 ? '' : chain[i - 1], { labels: { 'containerd.io/snapshot.ref': chain[i] } });
    try {
      await applyLayer(content.stream(layers[i].digest), mounts, {
        mediaType: layers[i].mediaType,
        digest: layers[i].digest,
        diffId: diffIds[i],
        name: `layer ${i} (${layers[i].digest})`,
      });
      await sn.commit(chain[i], key);
    } catch (e) {
      await sn.remove(key).catch(() => undefined);
      // another import committed the same layer meanwhile: that is as good
      if (e instanceof HutchError && e.kind === 'already-exists' && e.op === 'commit') continue;
      throw e;
    }
  }
  return chain[chain.length - 1] ?? '';
}
