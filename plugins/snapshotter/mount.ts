/**
 * Mounts a snapshotter's answer on the host, the way containerd's mount package does:
 * option words become mount flags, the rest becomes mount data; a read-only bind is a
 * bind then a read-only remount; an overlay whose data would not fit one page gets
 * its paths made relative to their common directory (mounted from that directory).
 *
 * Example:
 *   mountAll(await sn.prepare('c1', parent), '/run/b/rootfs');
 *   unmountAll('/run/b/rootfs');
 */
import * as path from 'node:path';
import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import type { Mount } from './snapshotter';

const MS_RDONLY = 0x1;
const MS_NOSUID = 0x2;
const MS_NODEV = 0x4;
const MS_NOEXEC = 0x8;
const MS_SYNCHRONOUS = 0x10;
const MS_REMOUNT = 0x20;
const MS_DIRSYNC = 0x80;
const MS_NOATIME = 0x400;
const MS_NODIRATIME = 0x800;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MS_RELATIME = 0x200000;
const MS_STRICTATIME = 0x1000000;
const MNT_DETACH = 0x2;

/** option → [clear?, flag] as containerd's parseMountOptions */
const FLAGS: Record<string, [boolean, number]> = {
  async: [true, MS_SYNCHRONOUS],
  atime: [true, MS_NOATIME],
  bind: [false, MS_BIND],
  defaults: [false, 0],
  dev: [true, MS_NODEV],
  diratime: [true, MS_NODIRATIME],
  dirsync: [false, MS_DIRSYNC],
  exec: [true, MS_NOEXEC],
  noatime: [false, MS_NOATIME],
  nodev: [false, MS_NODEV],
  nodiratime: [false, MS_NODIRATIME],
  noexec: [false, MS_NOEXEC],
  nosuid: [false, MS_NOSUID],
  rbind: [false, MS_BIND | MS_REC],
  relatime: [false, MS_RELATIME],
  ro: [false, MS_RDONLY],
  rw: [true, MS_RDONLY],
  strictatime: [false, MS_STRICTATIME],
  suid: [true, MS_NOSUID],
  sync: [false, MS_SYNCHRONOUS],
};

/** Room containerd leaves under the page size for the rest of the mount data. */
const MAX_DATA = 4096 - 512;

export function parseOptions(options: string[]): { flags: number; data: string[] } {
  let flags = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = FLAGS[o];
    if (!f) data.push(o);
    else if (f[0]) flags &= ~f[1];
    else flags |= f[1];
  }
  return { flags, data };
}

/** Overlay data with paths relative to their common directory, or undefined when that does not help. */
export function compactOverlayData(data: string[]): { dir: string; data: string[] } | undefined {
  const paths: string[] = [];
  for (const d of data) {
    const m = /^(lowerdir|upperdir|workdir)=(.*)$/.exec(d);
    if (m) paths.push(...m[2].split(':'));
  }
  if (paths.length === 0 || !paths.every((p) => path.isAbsolute(p))) return undefined;
  let common = path.dirname(paths[0]);
  while (!paths.every((p) => p.startsWith(`${common}/`)) && common !== '/') common = path.dirname(common);
  if (common === '/') return undefined;
  const rel = (p: string): string => path.relative(common, p);
  return {
    dir: common,
    data: data.map((d) => {
      const m = /^(lowerdir|upperdir|workdir)=(.*)$/.exec(d);
      return m ? `${m[1]}=${m[2].split(':').map(rel).join(':')}` : d;
    }),
  };
}

function mountOne(m: Mount, target: string): void {
  const ops = native();
  const { flags, data } = parseOptions(m.options);
  try {
    if (m.type === 'bind' || flags & MS_BIND) {
      ops.mount(m.source, target, null, flags & ~MS_RDONLY, null);
      if (flags & MS_RDONLY) ops.mount(null, target, null, MS_BIND | MS_REMOUNT | (flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)), null);
      return;
    }
    const joined = data.join(',');
    if (m.type === 'overlay' && joined.length > MAX_DATA) {
      const compact = compactOverlayData(data);
      if (compact) {
        ops.mountAt(compact.dir, m.source, target, m.type, flags, compact.data.join(','));
        return;
      }
    }
    ops.mount(m.source, target, m.type, flags, joined || null);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    throw new HutchError('mount', `mount ${m.type} ${JSON.stringify(m.source)} on ${target}: ${(e as Error).message}`, {
      step: 'mount',
      errno,
      path: target,
      cause: e,
    });
  }
}

/** Mounts `mounts` in order on `target` (an existing directory); undoes them on failure. */
export function mountAll(mounts: Mount[], target: string): void {
  let done = 0;
  try {
    for (const m of mounts) {
      mountOne(m, target);
      done++;
    }
  } catch (e) {
    for (; done > 0; done--) unmountAll(target, 1);
    throw e;
  }
}

/** Unmounts everything stacked on `target` (or `max` layers); not mounted is fine. */
export function unmountAll(target: string, max = Infinity): void {
  const ops = native();
  for (let i = 0; i < max; i++) {
    try {
      ops.umount(target, 0);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EINVAL' || code === 'ENOENT') return; // not (or no longer) a mount point
      if (code === 'EBUSY') {
        ops.umount(target, MNT_DETACH);
        continue;
      }
      throw new HutchError('unmount', `umount ${target}: ${(e as Error).message}`, { step: 'umount2', errno: code, path: target, cause: e });
    }
  }
}
