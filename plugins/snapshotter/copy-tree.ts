/**
 * A full-fidelity tree copy for the native snapshotter: file contents (reflinked where
 * the file system can), directories, symlinks, device nodes and FIFOs, hard links kept
 * as hard links, ownership, modes (setuid and sticky bits too), xattrs and times.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';

const S_IFMT = 0o170000;

function copyXattrs(from: string, to: string): void {
  const ops = native();
  for (const name of ops.llistxattr(from)) {
    const value = ops.lgetxattr(from, name);
    if (value) ops.lsetxattr(to, name, value);
  }
}

/** Copies the contents of directory `from` into existing directory `to`. */
export async function copyTree(from: string, to: string): Promise<void> {
  const links = new Map<string, string>();
  const dirs: [string, fs.Stats][] = [];
  const copyEntry = async (src: string, dst: string, st: fs.Stats): Promise<void> => {
    if (!st.isDirectory() && st.nlink > 1) {
      const id = `${st.dev}:${st.ino}`;
      const first = links.get(id);
      if (first) {
        await fs.promises.link(first, dst);
        return;
      }
      links.set(id, dst);
    }
    if (st.isDirectory()) {
      await fs.promises.mkdir(dst).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
      for (const name of await fs.promises.readdir(src)) {
        const s = path.join(src, name);
        await copyEntry(s, path.join(dst, name), await fs.promises.lstat(s));
      }
      dirs.push([dst, st]);
    } else if (st.isFile()) {
      await fs.promises.copyFile(src, dst, fs.constants.COPYFILE_EXCL | fs.constants.COPYFILE_FICLONE);
    } else if (st.isSymbolicLink()) {
      await fs.promises.symlink(await fs.promises.readlink(src), dst);
    } else {
      const rdev = st.rdev;
      native().mknod(dst, st.mode & S_IFMT, Math.floor(rdev / 256) & 0xfff, (rdev & 0xff) | ((rdev >> 12) & 0xfff00));
    }
    await fs.promises.lchown(dst, st.uid, st.gid);
    copyXattrs(src, dst);
    if (!st.isSymbolicLink()) await fs.promises.chmod(dst, st.mode & 0o7777);
    if (!st.isDirectory()) await fs.promises.lutimes(dst, st.atime, st.mtime);
  };
  for (const name of await fs.promises.readdir(from)) {
    const s = path.join(from, name);
    await copyEntry(s, path.join(to, name), await fs.promises.lstat(s));
  }
  // Directory times last: filling a directory changes its mtime.
  for (const [dst, st] of dirs) await fs.promises.utimes(dst, st.atime, st.mtime);
}
