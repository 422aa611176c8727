/**
 * Undoing `createBundle`'s rootfs: what the runtime's `delete` calls with the
 * container's annotations. Kept apart from bundle.ts so `hutch delete` loads only the
 * snapshotter and mount code.
 *
 * Example (runtime/delete):
 *   await releaseBundleSnapshot(spec.annotations); // no-op for bundles not made from an image
 */
import { HutchError } from '../../runtime/errors';
import { unmountAll } from '../snapshotter/mount';
import { openSnapshotter } from '../snapshotter/registry';

/** The annotations `createBundle` writes into config.json. */
export const BUNDLE_ANNOTATIONS = {
  snapshotter: 'io.hutch.snapshotter',
  snapshot: 'io.hutch.snapshot',
  snapshotRoot: 'io.hutch.snapshot-root',
  rootfs: 'io.hutch.rootfs',
  image: 'io.hutch.image',
} as const;

/**
 * Unmounts the bundle's rootfs and removes its snapshot (the container's writes go
 * with it). Returns false when the annotations name no snapshot. Idempotent: a
 * snapshot already gone is fine.
 */
export async function releaseBundleSnapshot(annotations: Record<string, string> | undefined): Promise<boolean> {
  const key = annotations?.[BUNDLE_ANNOTATIONS.snapshot];
  const name = annotations?.[BUNDLE_ANNOTATIONS.snapshotter];
  if (!key || !name) return false;
  const rootfs = annotations[BUNDLE_ANNOTATIONS.rootfs];
  if (rootfs) unmountAll(rootfs);
  const sn = openSnapshotter(name, annotations[BUNDLE_ANNOTATIONS.snapshotRoot] || undefined);
  try {
    await sn.remove(key);
  } catch (e) {
    if (!(e instanceof HutchError && e.kind === 'not-found')) throw e;
  }
  return true;
}
