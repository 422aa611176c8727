/** du for one snapshot layer: bytes on disk (st_blocks × 512, as containerd counts) and inodes, hard links once. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { SnapshotUsage } from './snapshotter';

export async function diskUsage(dir: string): Promise<SnapshotUsage> {
  const seen = new Set<string>();
  let size = 0;
  const visit = async (p: string): Promise<void> => {
    const st = await fs.promises.lstat(p, { bigint: true });
    const id = `${st.dev}:${st.ino}`;
    if (!seen.has(id)) {
      seen.add(id);
      size += Number(st.blocks) * 512;
    }
    if (st.isDirectory()) {
      for (const name of await fs.promises.readdir(p)) await visit(path.join(p, name));
    }
  };
  await visit(dir);
  return { size, inodes: seen.size };
}
