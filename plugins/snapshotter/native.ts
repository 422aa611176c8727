/**
 * The native snapshotter: every snapshot is a full copy of its parent (containerd's
 * "native"), for file systems that cannot carry overlayfs. Slow to prepare, but its
 * mounts are plain binds, and layer whiteouts become real deletions.
 *
 * Example:
 *   const sn = new NativeSnapshotter('/var/lib/hutch/snapshots/native');
 *   await sn.prepare('ctr-1', 'sha256:…'); // [{ type: 'bind', source: '…/snapshots/7/fs', options: ['rw', 'rbind'] }]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyTree } from './copy-tree';
import { DirSnapshotter, type Layout } from './dir-snapshotter';
import type { Mount, SnapshotKind } from './snapshotter';

export class NativeSnapshotter extends DirSnapshotter {
  readonly name = 'native';

  protected async createLayout(layout: Layout): Promise<void> {
    const fsDir = path.join(layout.dir, 'fs');
    fs.mkdirSync(fsDir, { mode: 0o755 });
    const parent = layout.parents[0];
    if (!parent) return;
    await copyTree(parent, fsDir);
    const st = fs.lstatSync(parent);
    fs.chownSync(fsDir, st.uid, st.gid);
    fs.chmodSync(fsDir, st.mode & 0o7777);
    fs.utimesSync(fsDir, st.atime, st.mtime);
  }

  protected mountsOf(id: string, kind: SnapshotKind): Mount[] {
    return [{ type: 'bind', source: this.fsDir(id), options: [kind === 'active' ? 'rw' : 'ro', 'rbind'] }];
  }
}
