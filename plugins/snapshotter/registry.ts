/**
 * The built-in snapshotters by name, and where they keep their state by default.
 *
 * Example:
 *   const sn = openSnapshotter('overlayfs');   // /var/lib/hutch/snapshots/overlayfs
 *   const sn2 = openSnapshotter('native', '/tmp/t/native');
 */
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import { NativeSnapshotter } from './native';
import { OverlaySnapshotter } from './overlayfs';
import type { Snapshotter } from './snapshotter';

export const SNAPSHOTTERS = ['overlayfs', 'native'] as const;
export type SnapshotterName = (typeof SNAPSHOTTERS)[number];

/** The default state directory of the image store's snapshotters. */
export const DEFAULT_SNAPSHOTS_ROOT = '/var/lib/hutch/snapshots';

export function openSnapshotter(name: string, root = path.join(DEFAULT_SNAPSHOTS_ROOT, name)): Snapshotter {
  switch (name) {
    case 'overlayfs':
      return new OverlaySnapshotter(root);
    case 'native':
      return new NativeSnapshotter(root);
    default:
      throw new HutchError('snapshotter', `unknown snapshotter "${name}" (want ${SNAPSHOTTERS.join(' or ')})`, { kind: 'invalid-argument', field: 'snapshotter' });
  }
}
