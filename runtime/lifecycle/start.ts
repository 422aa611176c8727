/**
 * `start`: releases the init blocked on exec.fifo. Opening the fifo for reading lets
 * the init's open for writing return; it writes one byte and goes on to exec. The
 * read and the init's exit are both watched on libuv, so a dead init is an error,
 * not a hang. poststart hooks run after; their failure is logged, not fatal.
 */
import * as fs from 'node:fs';
import { native } from '../../addon';
import { HutchError } from '../errors';
import { runHooks } from '../hooks';
import { closeQuietly } from '../launch/sync-channel';
import type { ContainerRecord } from '../state/record';
import { isSameLiveProcess } from '../state/proc';
import { liveStatus } from '../state/status';
import { StateStore } from '../state/store';
import { ociState } from './oci-state';

export interface StartOptions {
  root: string;
  id: string;
  warn?: (msg: string) => void;
}

function statusError(op: string, id: string, status: string): HutchError {
  if (status === 'stopped') return new HutchError(op, `cannot start a container that has stopped (${id})`, { kind: 'failed-precondition' });
  if (status === 'running' || status === 'paused') {
    return new HutchError(op, `cannot start an already running container (${id})`, { kind: 'failed-precondition' });
  }
  return new HutchError(op, `cannot start a container in status ${status} (${id})`, { kind: 'failed-precondition' });
}

/** Opens the fifo and resolves once the init has written its byte. */
function releaseInit(op: string, fifo: string, record: ContainerRecord): Promise<void> {
  const nativeOps = native();
  let pidfd: number;
  try {
    pidfd = nativeOps.pidfdOpen(record.pid);
  } catch {
    return Promise.reject(statusError(op, record.id, 'stopped'));
  }
  if (!isSameLiveProcess(record.pid, record.pidStartTime)) {
    closeQuietly(pidfd);
    return Promise.reject(statusError(op, record.id, 'stopped'));
  }
  const fd = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  return new Promise<void>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      exitWatch.close();
      fifoWatch.close();
      closeQuietly(fd);
      closeQuietly(pidfd);
      if (err) reject(err);
      else resolve();
    };
    const died = (): void => finish(new HutchError(op, `container init exited before it could start (${record.id})`, { kind: 'failed-precondition' }));
    /** true: the byte is there; false: EOF; undefined: nothing yet. */
    const readByte = (): boolean | undefined => {
      try {
        return fs.readSync(fd, Buffer.alloc(1), 0, 1, null) === 1;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return undefined;
        throw e;
      }
    };
    const check = (): void => {
      try {
        const got = readByte();
        if (got === true) finish();
        else if (got === false) died();
      } catch (e) {
        finish(new HutchError(op, `read exec.fifo: ${(e as Error).message}`, { errno: (e as NodeJS.ErrnoException).code }));
      }
    };
    // A fast program may exit before we see the byte: on exit, look at the fifo first.
    const exitWatch = nativeOps.watchExit(pidfd, false, () => {
      check();
      if (!done) died();
    });
    // Readable once the init has written its byte (or has gone after opening it: EOF).
    const fifoWatch = nativeOps.watchFd(fd, false, check);
  });
}

export async function startContainer(o: StartOptions): Promise<ContainerRecord> {
  const op = 'start';
  const store = new StateStore(o.root);
  const lock = await store.lock(op, o.id);
  try {
    const record = store.read(op, o.id);
    const status = await liveStatus(store, record);
    if (status !== 'created') throw statusError(op, o.id, status);
    const fifo = store.execFifoPath(o.id);
    await releaseInit(op, fifo, record);
    fs.rmSync(fifo, { force: true });
    record.status = 'running';
    store.write(record);
    try {
      await runHooks(op, 'poststart', record.spec.hooks?.poststart, ociState(record, 'running'), record.bundle);
    } catch (e) {
      o.warn?.(`poststart hook failed (container keeps running): ${(e as Error).message}`);
    }
    return record;
  } finally {
    lock.release();
  }
}
