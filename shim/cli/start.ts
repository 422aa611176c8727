/**
 * The `start` action (the slow path, when the native launcher found no live shim for
 * the group): create the group's socket, hand it to a new server process that runs
 * in its own session with stdio on /dev/null (containerd waits for EOF on the start
 * process's stdout and stderr), write `address`, and return the address to print.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import { addressOf, canConnect, groupOf, socketPathFor, writeAddressFile } from './address';
import type { ShimFlags } from './flags';
import { shimGrouping } from './grouping';

/** sun_path holds 108 bytes with the NUL. */
const SOCKET_PATH_MAX = 107;

/**
 * Runtime options arrive on stdin as a protobuf Any (e.g. containerd.runc.v1.Options)
 * when the task has any. Nothing in them applies yet: read them so the writer never
 * sees EPIPE, and never wait on a stdin that is a terminal or stays open.
 */
async function drainRuntimeOptions(timeoutMs = 2000): Promise<number> {
  let st: fs.Stats;
  try {
    st = fs.fstatSync(0);
  } catch {
    return 0;
  }
  if (!st.isFIFO() && !st.isFile() && !st.isSocket()) return 0;
  return new Promise((resolve) => {
    let total = 0;
    const buf = Buffer.alloc(64 * 1024);
    const timer = setTimeout(() => resolve(total), timeoutMs);
    timer.unref();
    const next = (): void =>
      fs.read(0, buf, 0, buf.length, null, (err, n) => {
        if (err || n === 0) {
          clearTimeout(timer);
          resolve(total);
          return;
        }
        total += n;
        next();
      });
    next();
  });
}

/** Something refused the connection: gone for good, or between bind and listen? Ask again briefly. */
async function liveAfterRetries(socketPath: string): Promise<boolean> {
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await canConnect(socketPath)) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

function spawnServer(flags: ShimFlags, bundle: string, socketPath: string, listenFd: number): void {
  // the script Node runs now (the bundle loader, or dist/shim/cli/main.js) serves too
  const args = [...process.execArgv, process.argv[1], '-namespace', flags.namespace, '-address', flags.address, '-publish-binary', flags.publishBinary, '-id', flags.id];
  if (flags.debug) args.push('-debug');
  args.push('-socket', socketPath);
  const child = spawn(process.execPath, args, {
    cwd: bundle,
    detached: true, // its own session: containerd's signals to the start process's group miss it
    stdio: ['ignore', 'ignore', 'ignore', listenFd],
    env: { ...process.env, HUTCH_SHIM_LISTEN_FD: '3' },
  });
  child.on('error', () => undefined); // reported by containerd when it cannot connect
  child.unref();
}

/** Starts or reuses the group's shim; returns the address to print. */
export async function startAction(flags: ShimFlags): Promise<string> {
  if (!flags.id) throw new HutchError('start', '-id is required', { kind: 'invalid-argument', field: '-id' });
  const bundle = flags.bundle || process.cwd();
  await drainRuntimeOptions();
  const socketPath = socketPathFor(flags.address, flags.namespace, groupOf(flags.id, bundle, shimGrouping()));
  if (socketPath.length > SOCKET_PATH_MAX) {
    throw new HutchError('start', `socket path "${socketPath}" is longer than ${SOCKET_PATH_MAX} bytes`, { kind: 'invalid-argument', path: socketPath });
  }
  const address = addressOf(socketPath);
  fs.mkdirSync(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = native().listenUnix(socketPath, 0o600);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code !== 'EADDRINUSE' || attempt > 0) throw new HutchError('start', `listen on ${socketPath}: ${err.message}`, { errno: err.code, path: socketPath });
      if (await liveAfterRetries(socketPath)) {
        // the group's shim is alive: reuse it
        writeAddressFile(bundle, address);
        return address;
      }
      fs.rmSync(socketPath, { force: true }); // left by a shim that died
      continue;
    }
    try {
      spawnServer(flags, bundle, socketPath, fd);
    } catch (e) {
      fs.rmSync(socketPath, { force: true });
      throw e;
    } finally {
      fs.closeSync(fd);
    }
    writeAddressFile(bundle, address);
    return address;
  }
}
