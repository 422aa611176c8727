/**
 * The container's root file system from CreateTaskRequest.rootfs: each mount (type,
 * source, mount(8) options — e.g. containerd's overlay snapshot) mounted on
 * <bundle>/rootfs in order, and unmounted at delete. An empty list means the
 * bundle's rootfs is used as it is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import { MS, parseMountOptions } from '../../runtime/spec/mount-options';

export interface RootfsMount {
  type?: string | null;
  source?: string | null;
  options?: string[] | null;
}

const PAGE = 4096;

export function rootfsDir(bundle: string): string {
  return path.join(bundle, 'rootfs');
}

export function mountRootfs(bundle: string, mounts: RootfsMount[]): void {
  const target = rootfsDir(bundle);
  if (!mounts.length) return;
  fs.mkdirSync(target, { recursive: true, mode: 0o711 });
  const done: string[] = [];
  try {
    for (const m of mounts) {
      const o = parseMountOptions(m.options ?? []);
      const bind = m.type === 'bind' || (o.flags & MS.BIND) !== 0;
      const data = o.data.join(',');
      if (data.length >= PAGE) throw new HutchError('create', `rootfs mount options are ${data.length} bytes, over the kernel's ${PAGE}`, { kind: 'invalid-argument' });
      const flags = o.flags & ~MS.RDONLY;
      native().mount(m.source || (m.type ?? 'none'), target, bind ? null : (m.type ?? null), bind ? flags | MS.BIND : o.flags, bind || !data ? null : data);
      done.push(target);
      // a read-only bind needs a remount: mount(2) ignores MS_RDONLY with MS_BIND
      if (bind && o.flags & MS.RDONLY) native().mount(null, target, null, MS.BIND | MS.REMOUNT | MS.RDONLY, null);
      if (o.propagation) native().mount(null, target, null, o.propagation, null);
    }
  } catch (e) {
    for (const t of done.reverse()) unmountQuietly(t);
    if (e instanceof HutchError) throw e;
    const err = e as NodeJS.ErrnoException;
    throw new HutchError('create', `mount the rootfs on ${target}: ${err.message}`, { errno: err.code, step: 'rootfs' });
  }
}

function unmountQuietly(target: string): boolean {
  try {
    native().umount(target, 0);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EINVAL' || code === 'ENOENT') return false; // not a mount point (any more)
    if (code === 'EBUSY') {
      native().umount(target, 2 /* MNT_DETACH */);
      return true;
    }
    throw e;
  }
}

/** Unmounts everything stacked on <bundle>/rootfs; already unmounted is fine. */
export function unmountRootfs(bundle: string): void {
  const target = rootfsDir(bundle);
  for (let i = 0; i < 16 && unmountQuietly(target); i++);
}
