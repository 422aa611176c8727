/**
 * SCMP_ACT_NOTIFY: the filter's listener fd goes to `linux.seccomp.listenerPath` with the
 * container process state, as the runtime spec says: one message on the unix socket
 * whose data is the state JSON ({ociVersion, fds: ["seccompFd"], pid, metadata, state})
 * and whose SCM_RIGHTS carry the fd.
 */
import type { NativeOps } from '../../addon';
import { HutchError } from '../errors';
import type { OciState, Seccomp } from '../spec/types';
import { SPEC_VERSION } from '../version';
import { closeQuietly } from './sync-channel';

export function sendSeccompListener(op: string, nativeOps: NativeOps, seccomp: Seccomp, fd: number, pid: number, state: OciState): void {
  const listener = seccomp.listenerPath!;
  let sock: number;
  try {
    sock = nativeOps.connectUnix(listener);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HutchError(op, `linux.seccomp.listenerPath: ${listener}: ${err.message}`, { errno: err.code, field: 'linux.seccomp.listenerPath' });
  }
  try {
    const message = { ociVersion: SPEC_VERSION, fds: ['seccompFd'], pid, metadata: seccomp.listenerMetadata ?? '', state };
    nativeOps.sendFds(sock, Buffer.from(JSON.stringify(message)), [fd]);
  } finally {
    closeQuietly(sock);
  }
}
