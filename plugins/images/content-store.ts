/**
 * The content store: blobs by digest under `<root>/content/blobs/sha256/<hex>`, shared
 * by every image that names them. New content is written into an ingest directory
 * (`<root>/content/ingest/<random>/`), verified, and only then renamed into place, so
 * a blob in `blobs/` is always complete and correct. An ingest directory belongs to
 * the process holding the flock on its `lock` file; a crashed one's is swept.
 * Blobs are removed by the image store's garbage collection when no image names them.
 *
 * Example:
 *   const cs = new ContentStore('/var/lib/hutch');
 *   const ingest = cs.newIngest();
 *   const { digest } = await ingest.write(stream, 'sha256:…');
 *   ingest.commit(digest); ingest.close();
 *   const manifest = cs.readJson(digest);
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import { checkDigest } from './media-types';

export interface Written {
  digest: string;
  size: number;
  /** where it is in the ingest dir */
  file: string;
}

export class Ingest {
  private readonly lockFd: number;
  private seq = 0;
  readonly written = new Map<string, Written>();

  readonly dir: string;

  constructor(
    private readonly store: ContentStore,
    parent: string,
  ) {
    // Locked before it gets its real name, so a sweep never sees it unlocked.
    fs.mkdirSync(parent, { recursive: true, mode: 0o700 });
    const tmp = fs.mkdtempSync(path.join(parent, '.tmp-'));
    this.lockFd = fs.openSync(path.join(tmp, 'lock'), 'w', 0o600);
    native().flockNow(this.lockFd, true);
    this.dir = path.join(parent, path.basename(tmp).slice('.tmp-'.length));
    fs.renameSync(tmp, this.dir);
  }

  /** Streams `data` into the ingest dir, hashing it; checks `expected` when given. */
  async write(data: AsyncIterable<Buffer> | Iterable<Buffer>, expected?: string, where = 'blob'): Promise<Written> {
    const file = path.join(this.dir, `part-${this.seq++}`);
    const hash = crypto.createHash('sha256');
    let size = 0;
    const fd = fs.openSync(file, 'wx', 0o644);
    try {
      for await (const chunk of data) {
        hash.update(chunk);
        size += chunk.length;
        for (let off = 0; off < chunk.length; ) off += fs.writeSync(fd, chunk, off);
      }
    } finally {
      fs.closeSync(fd);
    }
    const digest = `sha256:${hash.digest('hex')}`;
    if (expected && expected !== digest) {
      fs.rmSync(file, { force: true });
      throw new HutchError('import', `${where}: digest mismatch: content is ${digest}, expected ${expected}`, { kind: 'invalid-argument', path: where });
    }
    const w = { digest, size, file };
    if (!this.written.has(digest)) this.written.set(digest, w);
    else fs.rmSync(file, { force: true });
    return this.written.get(digest)!;
  }

  /** Moves a verified blob into the store (a no-op when the store has it already). */
  commit(digest: string): void {
    const w = this.written.get(digest);
    if (!w) throw new HutchError('import', `blob ${digest} was not ingested`, { kind: 'internal' });
    const dest = this.store.path(digest);
    if (fs.existsSync(dest)) return;
    fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o755 });
    fs.chmodSync(w.file, 0o444);
    fs.renameSync(w.file, dest);
  }

  /** Reads an ingested blob (before or after commit). */
  read(digest: string): Buffer {
    return fs.readFileSync(this.fileOf(digest));
  }

  /** The first `n` bytes of an ingested blob (fewer when it is shorter), without reading the rest. */
  head(digest: string, n: number): Buffer {
    const fd = fs.openSync(this.fileOf(digest), 'r');
    try {
      const buf = Buffer.alloc(n);
      return buf.subarray(0, fs.readSync(fd, buf, 0, n, 0));
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Where a blob is now: still in the ingest dir, or already committed to the store. */
  private fileOf(digest: string): string {
    const w = this.written.get(digest);
    return w && fs.existsSync(w.file) ? w.file : this.store.path(digest);
  }

  has(digest: string): boolean {
    return this.written.has(digest) || this.store.has(digest);
  }

  /** Drops whatever was not committed. */
  close(): void {
    fs.closeSync(this.lockFd);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export class ContentStore {
  readonly dir: string;

  constructor(readonly root: string) {
    this.dir = path.join(root, 'content');
  }

  path(digest: string): string {
    checkDigest(digest, 'digest');
    return path.join(this.dir, 'blobs', 'sha256', digest.slice('sha256:'.length));
  }

  has(digest: string): boolean {
    return fs.existsSync(this.path(digest));
  }

  size(digest: string): number {
    return fs.statSync(this.path(digest)).size;
  }

  read(digest: string): Buffer {
    try {
      return fs.readFileSync(this.path(digest));
    } catch (e) {
      throw new HutchError('content', `blob ${digest} is not in the content store`, { kind: 'not-found', errno: (e as NodeJS.ErrnoException).code, cause: e });
    }
  }

  readJson<T>(digest: string): T {
    return JSON.parse(this.read(digest).toString('utf8')) as T;
  }

  stream(digest: string): fs.ReadStream {
    return fs.createReadStream(this.path(digest), { highWaterMark: 1 << 20 });
  }

  /** Every stored digest. */
  list(): string[] {
    try {
      return fs.readdirSync(path.join(this.dir, 'blobs', 'sha256')).map((h) => `sha256:${h}`);
    } catch {
      return [];
    }
  }

  remove(digest: string): void {
    fs.rmSync(this.path(digest), { force: true });
  }

  newIngest(): Ingest {
    return new Ingest(this, path.join(this.dir, 'ingest'));
  }

  /** Removes ingest dirs whose owner is gone (its lock is free). */
  sweepIngests(): void {
    const dir = path.join(this.dir, 'ingest');
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const d = path.join(dir, n);
      let fd: number;
      try {
        fd = fs.openSync(path.join(d, 'lock'), 'r');
      } catch {
        continue; // a .tmp- dir still being made (or one whose maker died at once: empty)
      }
      try {
        if (native().flockNow(fd, true)) fs.rmSync(d, { recursive: true, force: true });
      } finally {
        fs.closeSync(fd);
      }
    }
  }
}
