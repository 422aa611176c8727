/**
 * Applies one image layer (a tar, plain, gzip or zstd) onto an active snapshot's
 * mounts, as containerd's applier does, without mounting anything:
 *  - overlay mounts: entries go straight into the upperdir; `.wh.NAME` becomes a 0/0
 *    character device, `.wh..wh..opq` sets `trusted.overlay.opaque=y`; parent
 *    directories that exist only in a lower layer are created with its attributes.
 *  - bind mounts (native snapshotter, a full copy of the parent): whiteouts delete.
 * Hard links, symlinks, device nodes, FIFOs, xattrs (PAX SCHILY.xattr.*), ownership,
 * modes and times are kept. Every path is resolved inside the layer root without
 * following a symlink: `../` that climbs out, and any parent that is a symlink, are
 * refused. The blob digest and the diff id (digest of the uncompressed tar) are
 * computed on the way and checked against the expected ones.
 *
 * Example:
 *   const mounts = await sn.prepare('extract-1', parentChainId);
 *   await applyLayer(fs.createReadStream(blob), mounts, { mediaType, digest, diffId });
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import type { Header } from 'tar-stream';
import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import type { Mount } from '../snapshotter/snapshotter';
import { layerCompression, sniff, type Compression } from './media-types';
import { tarExtract, XATTR_PREFIX } from './tar-pax';

export interface ApplyOptions {
  /** the layer's media type (decides what compression is allowed); default: sniff */
  mediaType?: string;
  /** expected digest of the blob as stored */
  digest?: string;
  /** expected digest of the uncompressed tar */
  diffId?: string;
  /** for messages, e.g. "layer 2 (sha256:…)" */
  name?: string;
}

export interface ApplyResult {
  digest: string;
  diffId: string;
  /** bytes of the blob as read */
  size: number;
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/** Where to write a layer, from an active snapshot's mounts. */
export interface ApplyTarget {
  root: string;
  mode: 'overlay' | 'native';
  /** overlay lower dirs, nearest first */
  lowers: string[];
}

export function applyTargetOf(mounts: Mount[]): ApplyTarget {
  if (mounts.length === 1 && mounts[0].type === 'overlay') {
    const opt = (k: string): string | undefined => mounts[0].options.find((o) => o.startsWith(`${k}=`))?.slice(k.length + 1);
    const upper = opt('upperdir');
    if (!upper) throw new HutchError('apply', 'overlay mount has no upperdir: a layer can only be applied to an active snapshot', { kind: 'invalid-argument' });
    return { root: upper, mode: 'overlay', lowers: (opt('lowerdir') ?? '').split(':').filter(Boolean) };
  }
  if (mounts.length === 1 && mounts[0].type === 'bind' && !mounts[0].options.includes('ro')) {
    return { root: mounts[0].source, mode: 'native', lowers: [] };
  }
  throw new HutchError('apply', `cannot apply a layer to mounts ${JSON.stringify(mounts)}`, { kind: 'invalid-argument' });
}

function layerError(name: string, detail: string, extra: { errno?: string; path?: string; cause?: unknown } = {}): HutchError {
  return new HutchError('apply', `${name}: ${detail}`, { kind: 'invalid-argument', ...extra });
}

/** Hashes what flows through, counting bytes. */
async function* hashing(src: AsyncIterable<Buffer> | Iterable<Buffer>, hash: crypto.Hash, count: { n: number }): AsyncGenerator<Buffer> {
  for await (const chunk of src) {
    hash.update(chunk);
    count.n += chunk.length;
    yield chunk;
  }
}

async function* zstdDecompress(src: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  // fzstd: pure JS, streaming (Node 20's zlib has no zstd)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Decompress } = require('fzstd') as typeof import('fzstd');
  let out: Buffer[] = [];
  const d = new Decompress((chunk) => out.push(Buffer.from(chunk)));
  for await (const chunk of src) {
    d.push(chunk);
    yield* out;
    out = [];
  }
  d.push(new Uint8Array(0), true);
  yield* out;
}

/** Decompresses by the stream's magic bytes, checked against what the media type allows. */
async function* decompress(src: AsyncIterable<Buffer>, declared: Compression | undefined, name: string): AsyncGenerator<Buffer> {
  const it = src[Symbol.asyncIterator]();
  let head = Buffer.alloc(0);
  const pending: Buffer[] = [];
  while (head.length < 4) {
    const r = await it.next();
    if (r.done) break;
    pending.push(r.value);
    head = Buffer.concat([head, r.value]);
  }
  if (head.length < 4) throw layerError(name, 'truncated or empty layer');
  const actual = sniff(head);
  if (declared && declared !== actual && !(declared === 'gzip' && actual === 'none')) {
    // docker save writes uncompressed layers under gzip-less types; a plain tar
    // declared as gzip is what some tools produce too, so only a real mismatch fails.
    throw layerError(name, `media type says ${declared} but the data is ${actual === 'none' ? 'not compressed' : actual}`);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    yield* pending;
    for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
  }
  if (actual === 'none') {
    yield* rest();
  } else if (actual === 'gzip') {
    const gunzip = zlib.createGunzip();
    yield* pipeline(Readable.from(rest()), gunzip, () => undefined) as AsyncIterable<Buffer>;
  } else {
    yield* zstdDecompress(rest());
  }
}

/** Normalises a tar entry name to a relative path inside the root; refuses climbing out. */
export function cleanName(name: string, layer: string): string {
  const rel = path.posix.normalize(name.replace(/^\/+/, '')).replace(/\/+$/, '');
  if (rel === '..' || rel.startsWith('../')) throw layerError(layer, `entry "${name}" escapes the layer root`, { path: name });
  return rel === '.' ? '' : rel;
}

function isWhiteoutDevice(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function lstatOrNull(p: string): fs.Stats | null {
  try {
    return fs.lstatSync(p);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

class LayerWriter {
  /** paths this layer wrote (native opaque dirs keep only these) */
  private readonly created = new Set<string>();
  private readonly dirTimes = new Map<string, Date>();
  private readonly opaque: string[] = [];

  constructor(
    private readonly target: ApplyTarget,
    private readonly name: string,
  ) {}

  private abs(rel: string): string {
    return rel ? path.join(this.target.root, rel) : this.target.root;
  }

  /** The first lower that has `rel` (whiteouts hide it), for overlay mode. */
  private lowerStat(rel: string): { st: fs.Stats; dir: string } | null {
    for (const lower of this.target.lowers) {
      const st = lstatOrNull(path.join(lower, rel));
      if (!st) continue;
      if (isWhiteoutDevice(st)) return null;
      return { st, dir: lower };
    }
    return null;
  }

  /**
   * Makes every parent of `rel` a real directory in the root, refusing symlinks and
   * non-directories on the way (in the root and in lower layers alike).
   */
  private ensureParents(rel: string, entry: string): void {
    const parts = rel.split('/').slice(0, -1);
    let cur = '';
    for (const part of parts) {
      cur = cur ? `${cur}/${part}` : part;
      const p = this.abs(cur);
      const st = lstatOrNull(p);
      if (st) {
        if (st.isSymbolicLink()) throw layerError(this.name, `entry "${entry}": parent "${cur}" is a symlink (to "${fs.readlinkSync(p)}"); refusing to follow it`, { path: entry });
        if (!st.isDirectory()) throw layerError(this.name, `entry "${entry}": parent "${cur}" is not a directory`, { path: entry });
        continue;
      }
      const lower = this.target.mode === 'overlay' ? this.lowerStat(cur) : null;
      if (lower?.st.isSymbolicLink()) {
        throw layerError(this.name, `entry "${entry}": parent "${cur}" is a symlink in a lower layer (to "${fs.readlinkSync(path.join(lower.dir, cur))}"); refusing to follow it`, { path: entry });
      }
      if (lower && !lower.st.isDirectory()) throw layerError(this.name, `entry "${entry}": parent "${cur}" is not a directory in a lower layer`, { path: entry });
      fs.mkdirSync(p, { mode: 0o755 });
      if (lower) {
        // the directory is copied up: same owner, mode and times as below
        fs.chownSync(p, lower.st.uid, lower.st.gid);
        fs.chmodSync(p, lower.st.mode & 0o7777);
        this.dirTimes.set(cur, lower.st.mtime);
      }
    }
  }

  /** Removes whatever is at `rel` in the root (not following symlinks), except a directory when `keepDir`. */
  private clear(rel: string, keepDir: boolean): boolean {
    const p = this.abs(rel);
    const st = lstatOrNull(p);
    if (!st) return false;
    if (st.isDirectory() && keepDir) return true;
    fs.rmSync(p, { recursive: true, force: true });
    return false;
  }

  async entry(header: Header, body: AsyncIterable<Buffer>): Promise<void> {
    const rel = cleanName(header.name, this.name);
    const base = path.posix.basename(rel);
    if (base.startsWith(WHITEOUT)) {
      await drain(body);
      return this.whiteout(rel, base);
    }
    if (rel === '') {
      await drain(body); // the layer root itself: the snapshot's own directory stays as made
      return;
    }
    this.ensureParents(rel, header.name);
    const p = this.abs(rel);
    const ops = native();
    switch (header.type) {
      case 'directory': {
        if (!this.clear(rel, true)) fs.mkdirSync(p, { mode: 0o700 });
        break;
      }
      case 'file':
      case 'contiguous-file': {
        this.clear(rel, false);
        const fd = fs.openSync(p, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
        try {
          for await (const chunk of body) {
            for (let off = 0; off < chunk.length; ) off += fs.writeSync(fd, chunk, off);
          }
        } finally {
          fs.closeSync(fd);
        }
        break;
      }
      case 'symlink':
        this.clear(rel, false);
        fs.symlinkSync(header.linkname, p);
        break;
      case 'link': {
        const targetRel = cleanName(header.linkname, this.name);
        if (!targetRel) throw layerError(this.name, `hard link "${header.name}" points at the layer root`, { path: header.name });
        this.ensureParents(targetRel, header.linkname);
        this.linkSource(targetRel, header);
        this.clear(rel, false);
        fs.linkSync(this.abs(targetRel), p);
        this.created.add(rel);
        await drain(body);
        return; // a hard link shares the target's inode: its attributes are the target's
      }
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        this.clear(rel, false);
        const type = header.type === 'fifo' ? S_IFIFO : header.type === 'block-device' ? S_IFBLK : S_IFCHR;
        try {
          ops.mknod(p, type | 0o600, header.devmajor ?? 0, header.devminor ?? 0);
        } catch (e) {
          throw layerError(this.name, `entry "${header.name}": mknod: ${(e as Error).message}`, { errno: (e as NodeJS.ErrnoException).code, path: header.name, cause: e });
        }
        break;
      }
      default:
        await drain(body);
        return; // other types (GNU sparse, volume labels) carry nothing a container sees
    }
    await drain(body);
    this.created.add(rel);
    this.setAttributes(p, rel, header);
  }

  /** Makes sure the hard link's target is in the root (copying it up from a lower layer). */
  private linkSource(targetRel: string, header: Header): void {
    const st = lstatOrNull(this.abs(targetRel));
    if (st) {
      if (st.isDirectory()) throw layerError(this.name, `hard link "${header.name}" points at directory "${header.linkname}"`, { path: header.name });
      return;
    }
    const lower = this.target.mode === 'overlay' ? this.lowerStat(targetRel) : null;
    if (!lower || lower.st.isDirectory()) throw layerError(this.name, `hard link "${header.name}": target "${header.linkname}" does not exist`, { path: header.name });
    const src = path.join(lower.dir, targetRel);
    const dst = this.abs(targetRel);
    if (lower.st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else fs.copyFileSync(src, dst, fs.constants.COPYFILE_EXCL);
    fs.lchownSync(dst, lower.st.uid, lower.st.gid);
    if (!lower.st.isSymbolicLink()) fs.chmodSync(dst, lower.st.mode & 0o7777);
    for (const x of native().llistxattr(src)) {
      const v = native().lgetxattr(src, x);
      if (v) native().lsetxattr(dst, x, v);
    }
    fs.lutimesSync(dst, lower.st.atime, lower.st.mtime);
  }

  private setAttributes(p: string, rel: string, header: Header): void {
    const pax = (header.pax ?? {}) as Record<string, string>;
    const link = header.type === 'symlink';
    try {
      fs.lchownSync(p, header.uid ?? 0, header.gid ?? 0);
      for (const [k, v] of Object.entries(pax)) {
        if (!k.startsWith(XATTR_PREFIX)) continue;
        try {
          native().lsetxattr(p, k.slice(XATTR_PREFIX.length), Buffer.from(v, 'latin1'));
        } catch (e) {
          // containerd too skips xattrs the file system cannot hold (and user.* on symlinks)
          const code = (e as NodeJS.ErrnoException).code;
          if (code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && !(link && code === 'EPERM')) throw e;
        }
      }
      // chmod after chown: chown clears setuid/setgid
      if (!link) fs.chmodSync(p, header.mode & 0o7777);
      const mtime = pax.mtime ? new Date(Number(pax.mtime) * 1000) : header.mtime;
      const atime = pax.atime ? new Date(Number(pax.atime) * 1000) : mtime;
      if (header.type === 'directory') this.dirTimes.set(rel, mtime);
      else fs.lutimesSync(p, atime, mtime);
    } catch (e) {
      if (e instanceof HutchError) throw e;
      throw layerError(this.name, `entry "${header.name}": ${(e as Error).message}`, { errno: (e as NodeJS.ErrnoException).code, path: header.name, cause: e });
    }
  }

  private whiteout(rel: string, base: string): void {
    const dirRel = path.posix.dirname(rel) === '.' ? '' : path.posix.dirname(rel);
    if (dirRel) this.ensureParents(`${dirRel}/x`, rel);
    if (base === OPAQUE) {
      if (dirRel && !lstatOrNull(this.abs(dirRel))) fs.mkdirSync(this.abs(dirRel), { mode: 0o755 });
      if (this.target.mode === 'overlay') native().lsetxattr(this.abs(dirRel), 'trusted.overlay.opaque', Buffer.from('y'));
      else this.opaque.push(dirRel);
      return;
    }
    if (base.startsWith(`${WHITEOUT}${WHITEOUT}`)) return; // other AUFS metadata (.wh..wh.plnk)
    const victim = dirRel ? `${dirRel}/${base.slice(WHITEOUT.length)}` : base.slice(WHITEOUT.length);
    cleanName(victim, this.name);
    if (this.target.mode === 'overlay') {
      this.clear(victim, false);
      native().mknod(this.abs(victim), S_IFCHR, 0, 0);
    } else if (!this.created.has(victim)) {
      this.clear(victim, false);
    }
  }

  /** Native opaque dirs: everything this layer did not write goes. */
  private purge(dirRel: string): void {
    const dir = this.abs(dirRel);
    for (const n of fs.readdirSync(dir)) {
      const rel = dirRel ? `${dirRel}/${n}` : n;
      const underNew = [...this.created].some((c) => c === rel || c.startsWith(`${rel}/`));
      if (!underNew) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
      else if (fs.lstatSync(path.join(dir, n)).isDirectory()) this.purge(rel);
    }
  }

  finish(): void {
    for (const d of this.opaque) this.purge(d);
    // deepest first, so setting a parent's times comes after its children changed
    const dirs = [...this.dirTimes.entries()].sort((a, b) => b[0].split('/').length - a[0].split('/').length);
    for (const [rel, mtime] of dirs) {
      const p = this.abs(rel);
      if (lstatOrNull(p)?.isDirectory()) fs.utimesSync(p, mtime, mtime);
    }
  }
}

async function drain(body: AsyncIterable<Buffer>): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  for await (const _ of body);
}

/** Applies `blob` (a layer as stored) to `target`; verifies digest and diff id when given. */
export async function applyLayerTo(blob: AsyncIterable<Buffer> | Iterable<Buffer>, target: ApplyTarget, options: ApplyOptions = {}): Promise<ApplyResult> {
  const name = options.name ?? (options.digest ? `layer ${options.digest}` : 'layer');
  const declared = options.mediaType ? layerCompression(options.mediaType, name) : undefined;
  const blobHash = crypto.createHash('sha256');
  const tarHash = crypto.createHash('sha256');
  const blobCount = { n: 0 };
  const writer = new LayerWriter(target, name);
  const extract = tarExtract();
  const tarBytes = hashing(decompress(hashing(blob, blobHash, blobCount), declared, name), tarHash, { n: 0 });
  const done = new Promise<void>((resolve, reject) => pipeline(Readable.from(tarBytes), extract, (e) => (e ? reject(e) : resolve())));
  try {
    // tar-stream's entry streams yield Buffers
    for await (const entry of extract) await writer.entry(entry.header, entry as unknown as AsyncIterable<Buffer>);
    await done;
    writer.finish();
  } catch (e) {
    extract.destroy();
    await done.catch(() => undefined);
    if (e instanceof HutchError) throw e;
    const msg = (e as Error).message;
    throw layerError(name, `corrupt or truncated layer: ${msg}`, { errno: (e as NodeJS.ErrnoException).code, cause: e });
  }
  const digest = `sha256:${blobHash.digest('hex')}`;
  const diffId = `sha256:${tarHash.digest('hex')}`;
  if (options.digest && digest !== options.digest) throw layerError(name, `digest mismatch: content is ${digest}, expected ${options.digest}`);
  if (options.diffId && diffId !== options.diffId) throw layerError(name, `diff id mismatch: uncompressed content is ${diffId}, expected ${options.diffId}`);
  return { digest, diffId, size: blobCount.n };
}

/** `applyLayerTo` on an active snapshot's mounts. */
export function applyLayer(blob: AsyncIterable<Buffer> | Iterable<Buffer>, mounts: Mount[], options: ApplyOptions = {}): Promise<ApplyResult> {
  return applyLayerTo(blob, applyTargetOf(mounts), options);
}
