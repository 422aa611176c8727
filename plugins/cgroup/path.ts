/**
 * A container's cgroup path from linux.cgroupsPath: absolute as given, relative
 * under /hutch, default /hutch/<id>. systemd's "slice:prefix:name" is refused
 * until a systemd driver exists.
 */
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';

export const DEFAULT_PARENT = '/hutch';

export function cgroupPath(op: string, id: string, cgroupsPath: string | undefined): string {
  if (!cgroupsPath) return path.posix.join(DEFAULT_PARENT, id);
  if (/^[^/]*:[^/]*:[^/]*$/.test(cgroupsPath)) {
    throw new HutchError(op, `linux.cgroupsPath: "${cgroupsPath}" is a systemd path, but the systemd cgroup driver is not supported`, {
      kind: 'unimplemented',
      field: 'linux.cgroupsPath',
    });
  }
  const joined = cgroupsPath.startsWith('/') ? path.posix.normalize(cgroupsPath) : path.posix.join(DEFAULT_PARENT, cgroupsPath);
  if (joined === '/' || joined.split('/').includes('..')) {
    throw new HutchError(op, `linux.cgroupsPath: "${cgroupsPath}" is not a usable cgroup path`, { kind: 'invalid-argument', field: 'linux.cgroupsPath' });
  }
  return joined;
}
