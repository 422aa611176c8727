/**
 * containerd's logging binaries (`binary:///path/to/logger?key=value`, e.g. `ctr run
 * --log-uri`, nerdctl's log drivers), started the way containerd's runc shim starts
 * them: the binary with each query key and its value as arguments, an environment of
 * only CONTAINER_ID (the process' id: the container's, or the exec's) and
 * CONTAINER_NAMESPACE, the read ends of two pipes as fds 3 (stdout) and 4 (stderr),
 * and fd 5, which it writes a byte to or closes when it is ready. The process gets the
 * write ends as its stdout and stderr. When the process is deleted the logger gets
 * SIGTERM and up to 12 s to finish before SIGKILL.
 *
 *   const logger = await startBinaryLogger('create', 'binary:///usr/bin/log?tag=web', 'web', 'default');
 *   // stdio: [stdin, logger.stdout, logger.stderr]; after the process started, close ours
 *   await logger.stop();   // at delete
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import { closeQuietly } from '../../runtime/launch/sync-channel';

/** containerd's binaryIOProcTermTimeout: the logger's time to flush after SIGTERM */
const STOP_TIMEOUT_MS = 12_000;

export interface BinaryLogger {
  /** write ends for the process: its stdout and stderr */
  readonly stdout: number;
  readonly stderr: number;
  /** SIGTERM, then SIGKILL after 12 s; resolves when the logger is gone. */
  stop(): Promise<void>;
}

/** The program and its arguments from a binary:// URI. */
export function loggerCommand(op: string, uri: string): { path: string; args: string[] } {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new HutchError(op, `stdio "${uri}": not a valid binary:// URI`, { kind: 'invalid-argument', field: 'stdout' });
  }
  const file = decodeURIComponent(url.pathname);
  if (url.protocol !== 'binary:' || !file.startsWith('/') || url.host) {
    throw new HutchError(op, `stdio "${uri}": a logging binary is named by an absolute path (binary:///path/to/logger)`, { kind: 'invalid-argument', field: 'stdout' });
  }
  const args: string[] = [];
  for (const [key, value] of url.searchParams) args.push(key, value);
  return { path: file, args };
}

/** Resolves once the logger wrote to or closed fd 5 (containerd waits without a limit too). */
function loggerReady(readyFd: number): Promise<void> {
  return new Promise((resolve) => {
    const watch = native().watchFd(readyFd, false, () => {
      watch.close();
      closeQuietly(readyFd);
      resolve();
    });
  });
}

function stopLogger(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startBinaryLogger(op: string, uri: string, processId: string, namespace: string): Promise<BinaryLogger> {
  const { path: file, args } = loggerCommand(op, uri);
  const nativeOps = native();
  const opened: number[] = [];
  try {
    const out = nativeOps.pipe();
    opened.push(...out);
    const err = nativeOps.pipe();
    opened.push(...err);
    const ready = nativeOps.pipe();
    opened.push(...ready);
    const child = spawn(file, args, {
      stdio: ['ignore', 'ignore', 'ignore', out[0], err[0], ready[1]],
      env: { CONTAINER_ID: processId, CONTAINER_NAMESPACE: namespace },
    });
    // the logger holds the read ends and fd 5 now; ours would hide its EOF and readiness
    for (const fd of [out[0], err[0], ready[1]]) closeQuietly(fd);
    opened.splice(0, opened.length, out[1], err[1]);
    if (child.pid === undefined) {
      closeQuietly(ready[0]);
      const [e] = (await once(child, 'error')) as [NodeJS.ErrnoException];
      throw new HutchError(op, `stdio "${uri}": start the logging binary: ${e.message}`, { errno: e.code, field: 'stdout' });
    }
    await loggerReady(ready[0]);
    return { stdout: out[1], stderr: err[1], stop: () => stopLogger(child) };
  } catch (e) {
    for (const fd of opened) closeQuietly(fd);
    throw e;
  }
}

/** Whether a process' stdout names a logging binary (containerd decides by stdout alone). */
export function isBinaryUri(uri: string | null | undefined): boolean {
  return typeof uri === 'string' && uri.startsWith('binary://');
}
