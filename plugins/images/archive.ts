/**
 * Reading what `docker save` and OCI tools write: a tar archive (optionally gzip'd)
 * or an OCI image layout directory. Blobs go into a content-store Ingest as they
 * stream by (verified against their `blobs/sha256/<hex>` names); the small metadata
 * files (manifest.json, index.json, oci-layout) are kept in memory.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { HutchError } from '../../runtime/errors';
import type { Ingest } from './content-store';
import { sniff } from './media-types';
import { tarExtract } from './tar-pax';

const META_FILES = new Set(['manifest.json', 'index.json', 'oci-layout', 'repositories']);
const MAX_META = 16 << 20;
const BLOB_PATH = /^blobs\/sha256\/([a-f0-9]{64})$/;

export type Progress = (done: number, total: number) => void;

/** An archive's files, as the importer asks for them. */
export interface ArchiveSource {
  /** a metadata file (manifest.json, index.json, oci-layout) */
  meta(name: string): Buffer | undefined;
  /** ingests the file at `p` (inside the archive) and returns its digest */
  blobAt(p: string, where: string): Promise<string>;
  /** makes sure the blob `digest` is ingested (verified); throws when the archive lacks it */
  blob(digest: string, where: string): Promise<void>;
}

function archiveError(file: string, detail: string, cause?: unknown): HutchError {
  return new HutchError('import', `${file}: ${detail}`, { kind: 'invalid-argument', path: file, cause });
}

function cleanPath(p: string): string {
  return path.posix.normalize(p.replace(/^\/+/, '')).replace(/^\.\//, '').replace(/\/+$/, '');
}

async function* counting(src: AsyncIterable<Buffer>, total: number, progress?: Progress): AsyncGenerator<Buffer> {
  let done = 0;
  for await (const chunk of src) {
    done += chunk.length;
    progress?.(done, total);
    yield chunk;
  }
}

async function* gunzipIfNeeded(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  async function* all(): AsyncGenerator<Buffer> {
    yield first.value;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  if (sniff(first.value) === 'gzip') {
    yield* pipeline(Readable.from(all()), zlib.createGunzip(), () => undefined) as AsyncIterable<Buffer>;
  } else {
    yield* all();
  }
}

/** Streams a tar archive into `ingest`. */
export async function readTarArchive(file: string, ingest: Ingest, progress?: Progress): Promise<ArchiveSource> {
  const meta = new Map<string, Buffer>();
  const byPath = new Map<string, string>();
  const links = new Map<string, string>();
  let total: number;
  try {
    const st = fs.statSync(file);
    total = st.isFile() ? st.size : 0;
  } catch (e) {
    throw new HutchError('import', `${file}: ${(e as Error).message}`, { kind: 'not-found', errno: (e as NodeJS.ErrnoException).code, path: file });
  }
  const extract = tarExtract();
  const source = gunzipIfNeeded(counting(fs.createReadStream(file, { highWaterMark: 1 << 20 }), total, progress));
  const done = new Promise<void>((resolve, reject) => pipeline(Readable.from(source), extract, (e) => (e ? reject(e) : resolve())));
  let entries = 0;
  try {
    for await (const entry of extract) {
      entries++;
      const h = entry.header;
      const name = cleanPath(h.name);
      const body = entry as unknown as AsyncIterable<Buffer>; // tar-stream yields Buffers
      if (h.type === 'symlink') links.set(name, cleanPath(path.posix.join(path.posix.dirname(name), h.linkname)));
      else if (h.type === 'link') links.set(name, cleanPath(h.linkname));
      if (h.type !== 'file' && h.type !== 'contiguous-file') {
        entry.resume();
        continue;
      }
      if (META_FILES.has(name)) {
        if (h.size > MAX_META) throw archiveError(file, `${name} is too large (${h.size} bytes)`);
        const parts: Buffer[] = [];
        for await (const c of body) parts.push(c);
        meta.set(name, Buffer.concat(parts));
        continue;
      }
      const m = BLOB_PATH.exec(name);
      const w = await ingest.write(body, m ? `sha256:${m[1]}` : undefined, `${file}: ${name}`);
      byPath.set(name, w.digest);
    }
    await done;
  } catch (e) {
    extract.destroy();
    await done.catch(() => undefined);
    if (e instanceof HutchError) throw e;
    throw archiveError(file, `truncated or corrupt archive: ${(e as Error).message}`, e);
  }
  if (entries === 0) throw archiveError(file, 'not an image archive (no tar entries)');
  const resolve = (p: string): string => {
    for (let i = 0; i < 40 && links.has(p); i++) p = links.get(p)!;
    return p;
  };
  return {
    meta: (n) => meta.get(n),
    blobAt: async (p, where) => {
      const d = byPath.get(resolve(cleanPath(p)));
      if (!d) throw archiveError(file, `${where}: the archive has no file "${p}"`);
      return d;
    },
    blob: async (digest, where) => {
      if (!ingest.has(digest)) throw archiveError(file, `${where}: the archive lacks blob ${digest}`);
    },
  };
}

/** An OCI image layout directory: blobs are ingested (copied, verified) on demand. */
export function readLayoutDir(dir: string, ingest: Ingest): ArchiveSource {
  const meta = (n: string): Buffer | undefined => {
    try {
      return META_FILES.has(n) ? fs.readFileSync(path.join(dir, n)) : undefined;
    } catch {
      return undefined;
    }
  };
  const ingestFile = async (rel: string, expected: string | undefined, where: string): Promise<string> => {
    const p = path.resolve(dir, cleanPath(rel));
    if (!p.startsWith(`${path.resolve(dir)}/`) || !fs.existsSync(p)) throw archiveError(dir, `${where}: the layout has no file "${rel}"`);
    return (await ingest.write(fs.createReadStream(p, { highWaterMark: 1 << 20 }), expected, `${dir}: ${rel}`)).digest;
  };
  return {
    meta,
    blobAt: (p, where) => ingestFile(p, undefined, where),
    blob: async (digest, where) => {
      if (ingest.written.has(digest)) return;
      await ingestFile(`blobs/sha256/${digest.slice(7)}`, digest, where);
    },
  };
}
