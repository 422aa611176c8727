/**
 * The built-in snapshotters as registry plugins: settings `{ root }` (default
 * /var/lib/hutch/snapshots/<name>).
 */
import * as path from 'node:path';
import type { PluginContext } from '../plugin';
import { NativeSnapshotter } from './native';
import { OverlaySnapshotter } from './overlayfs';
import { DEFAULT_SNAPSHOTS_ROOT } from './registry';

function rootOf(settings: unknown, name: string): string {
  const root = (settings as { root?: unknown } | undefined)?.root;
  return typeof root === 'string' && root ? root : path.join(DEFAULT_SNAPSHOTS_ROOT, name);
}

export class RegisteredOverlaySnapshotter extends OverlaySnapshotter {
  constructor(settings?: unknown, _context?: PluginContext) {
    super(rootOf(settings, 'overlayfs'));
  }
}

export class RegisteredNativeSnapshotter extends NativeSnapshotter {
  constructor(settings?: unknown, _context?: PluginContext) {
    super(rootOf(settings, 'native'));
  }
}
