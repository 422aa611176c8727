/**
 * An exclusive lock on a file, held across processes (flock) and within one
 * process (a promise chain per path). The in-process queue matters: flock waits on
 * a libuv pool thread, and many waiters of one process could otherwise fill the
 * pool while the holder needs a pool thread itself.
 *
 * Example:
 *   await withFileLock('/run/hutch/network/lock', async () => { ... });
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';

const queues = new Map<string, Promise<void>>();

export async function withFileLock<T>(lockPath: string, fn: () => Promise<T> | T): Promise<T> {
  const previous = queues.get(lockPath) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  queues.set(lockPath, tail);
  await previous;
  let fd = -1;
  try {
    fs.mkdirSync(path.dirname(lockPath), { recursive: true, mode: 0o700 });
    fd = fs.openSync(lockPath, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    await native().flock(fd, true);
    return await fn();
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    release();
    if (queues.get(lockPath) === tail) queues.delete(lockPath);
  }
}
