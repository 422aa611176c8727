/**
 * A small embedded store: one JSON document on disk, read and written under an
 * flock, replaced atomically (write a temp file, fsync, rename). It survives
 * restarts and concurrent use by many processes (CLI calls, the proxy snapshotter).
 *
 * Why not a database library: the snapshot and image tables are small (hundreds to
 * a few thousand records), every operation is one short transaction, and we already
 * have flock in the addon. better-sqlite3 or lmdb would add a native build (no
 * prebuilt binaries can be fetched here) for no gain in semantics.
 *
 * Inside one process an async queue orders transactions first, so waiting for the
 * flock never ties up more than one libuv thread-pool thread.
 *
 * Example:
 *   const store = new LockedJson<{ n: number }>('/var/lib/x/db.json', () => ({ n: 0 }));
 *   await store.update((doc) => { doc.n++; });
 *   const n = await store.read((doc) => doc.n);
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';

export class LockedJson<T> {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly file: string,
    private readonly empty: () => T,
  ) {}

  /** Runs `fn` on a consistent copy under a shared lock. */
  read<R>(fn: (doc: T) => R | Promise<R>): Promise<R> {
    return this.locked(false, async () => fn(this.load()));
  }

  /** Runs `fn` under the exclusive lock; what it leaves in `doc` is written back (unless it throws). */
  update<R>(fn: (doc: T) => R | Promise<R>): Promise<R> {
    return this.locked(true, async () => {
      const doc = this.load();
      const result = await fn(doc);
      this.save(doc);
      return result;
    });
  }

  private locked<R>(exclusive: boolean, fn: () => Promise<R>): Promise<R> {
    const run = async (): Promise<R> => {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o711 });
      const fd = fs.openSync(`${this.file}.lock`, fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
      try {
        if (!native().flockNow(fd, exclusive)) await native().flock(fd, exclusive);
        return await fn();
      } finally {
        fs.closeSync(fd);
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private load(): T {
    let text: string;
    try {
      text = fs.readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return this.empty();
      throw e;
    }
    return JSON.parse(text) as T;
  }

  private save(doc: T): void {
    const tmp = `${this.file}.tmp-${process.pid}`;
    const fd = fs.openSync(tmp, 'w', 0o600);
    try {
      fs.writeSync(fd, JSON.stringify(doc));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}
