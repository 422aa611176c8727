/**
 * The overlayfs snapshotter, laid out like containerd's: `snapshots/<id>/fs` is a
 * layer's own files (the upperdir while active), `snapshots/<id>/work` the workdir.
 * Mounts use absolute paths, as containerd expects; `mountAll` shortens the lowerdir
 * list (relative to the snapshots dir) when it would not fit the one-page mount data.
 * Whiteouts are 0/0 character devices and opaque directories carry
 * `trusted.overlay.opaque=y` — the kernel's own format, written by layer apply.
 *
 * Example:
 *   const sn = new OverlaySnapshotter('/var/lib/hutch/snapshots/overlayfs');
 *   await sn.prepare('ctr-1', 'sha256:…');
 *   // [{ type: 'overlay', source: 'overlay',
 *   //    options: ['index=off', 'workdir=…/snapshots/7/work', 'upperdir=…/snapshots/7/fs', 'lowerdir=…/6/fs:…/5/fs'] }]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirSnapshotter, type Layout } from './dir-snapshotter';
import type { Mount, SnapshotKind } from './snapshotter';

export class OverlaySnapshotter extends DirSnapshotter {
  readonly name = 'overlayfs';

  protected async createLayout(layout: Layout): Promise<void> {
    fs.mkdirSync(path.join(layout.dir, 'fs'), { mode: 0o755 });
    if (layout.kind === 'active') fs.mkdirSync(path.join(layout.dir, 'work'), { mode: 0o711 });
  }

  protected mountsOf(id: string, kind: SnapshotKind, parents: string[]): Mount[] {
    const fsDir = this.fsDir(id);
    if (parents.length === 0) {
      return [{ type: 'bind', source: fsDir, options: [kind === 'active' ? 'rw' : 'ro', 'rbind'] }];
    }
    if (kind === 'view') {
      // overlay needs two lowers without an upper; one parent is just a read-only bind
      if (parents.length === 1) return [{ type: 'bind', source: parents[0], options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${parents.join(':')}`] }];
    }
    return [
      {
        type: 'overlay',
        source: 'overlay',
        // index=off: hard links across layers must not need the inode index (as containerd)
        options: ['index=off', `workdir=${path.join(path.dirname(fsDir), 'work')}`, `upperdir=${fsDir}`, `lowerdir=${parents.join(':')}`],
      },
    ];
  }
}
