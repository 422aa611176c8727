/**
 * The image service: import (`docker save` archives, OCI archives and layouts), list,
 * inspect, remove, unpack into a snapshotter, and garbage collection of content and
 * snapshots no image needs. State lives under one root (default /var/lib/hutch):
 *   content/blobs/sha256/<hex>   blobs, shared between images
 *   content/ingest/<id>/         imports in progress
 *   images.json                  name → image record
 *   snapshots/<snapshotter>/     the snapshotters' state
 *   gc.lock                      imports hold it shared; GC runs only with it exclusive
 *
 * Importing an image that is already there is idempotent, as in containerd: the
 * same content leaves the record alone ("unchanged"), other content under the same
 * name moves the name ("updated") and the old content is collected when unused.
 *
 * Example:
 *   const images = new ImageService({ root: '/var/lib/hutch' });
 *   const [img] = await images.import('busybox.tar', { name: 'busybox:latest' });
 *   for (const i of await images.list()) console.log(i.name, i.target.digest);
 *   await images.remove('busybox:latest');
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import { openSnapshotter, SNAPSHOTTERS } from '../snapshotter/registry';
import type { SnapshotInfo, Snapshotter } from '../snapshotter/snapshotter';
import { readLayoutDir, readTarArchive, type Progress } from './archive';
import { ContentStore } from './content-store';
import { getImage, openImageDb, type ImageRecord, type ImagesDoc } from './image-store';
import { planImport } from './import-plan';
import { chainIds } from './media-types';
import { EXTRACT_PREFIX, unpackLayers } from './unpack';

export const DEFAULT_IMAGE_ROOT = '/var/lib/hutch';
/** Label on a bundle's snapshot: the image it came from (an image with one is in use). */
export const IMAGE_LABEL = 'io.hutch.image';

export interface ImageServiceOptions {
  root?: string;
  /** the snapshotter imports unpack into (default overlayfs) */
  snapshotter?: string;
}

export interface ImportOptions {
  name?: string;
  snapshotter?: string;
  /** skip unpacking (content only) */
  noUnpack?: boolean;
  progress?: Progress;
}

export interface ImportResult {
  name: string;
  digest: string;
  status: 'created' | 'updated' | 'unchanged';
}

export class ImageService {
  readonly root: string;
  readonly content: ContentStore;
  readonly defaultSnapshotter: string;
  private readonly db;

  constructor(options: ImageServiceOptions = {}) {
    this.root = path.resolve(options.root ?? DEFAULT_IMAGE_ROOT);
    this.content = new ContentStore(this.root);
    this.defaultSnapshotter = options.snapshotter ?? 'overlayfs';
    this.db = openImageDb(this.root);
  }

  snapshotter(name = this.defaultSnapshotter): Snapshotter {
    return openSnapshotter(name, path.join(this.root, 'snapshots', name));
  }

  /** Holds gc.lock shared (imports) for the duration of `fn`. */
  private async importing<R>(fn: () => Promise<R>): Promise<R> {
    fs.mkdirSync(this.root, { recursive: true, mode: 0o711 });
    const fd = fs.openSync(path.join(this.root, 'gc.lock'), 'a', 0o600);
    try {
      if (!native().flockNow(fd, false)) await native().flock(fd, false);
      return await fn();
    } finally {
      fs.closeSync(fd);
    }
  }

  async import(file: string, options: ImportOptions = {}): Promise<ImportResult[]> {
    const snName = options.snapshotter ?? this.defaultSnapshotter;
    const sn = this.snapshotter(snName);
    try {
      return await this.importing(async () => {
        const ingest = this.content.newIngest();
        try {
          const isDir = fs.existsSync(file) && fs.statSync(file).isDirectory();
          const src = isDir ? readLayoutDir(file, ingest) : await readTarArchive(file, ingest, options.progress);
          const plans = await planImport(src, ingest, file, options.name);
          for (const p of plans) for (const b of p.blobs) ingest.commit(b);
          const unpacked: Record<string, string[]> = {};
          // once per plan: unpacking names snapshots by them and the record keeps them
          const chains = new Map(plans.map((p) => [p, chainIds(p.diffIds)]));
          for (const p of plans) {
            if (!options.noUnpack) await unpackLayers(sn, this.content, p.layers, p.diffIds, chains.get(p)!);
            unpacked[p.name] = options.noUnpack ? [] : [snName];
          }
          return await this.db.update((doc) => {
            const now = new Date().toISOString();
            return plans.map((p): ImportResult => {
              const old = Object.prototype.hasOwnProperty.call(doc.images, p.name) ? doc.images[p.name] : undefined;
              const same = old?.target.digest === p.target.digest;
              doc.images[p.name] = {
                ...p,
                chainIds: chains.get(p)!,
                unpacked: [...new Set([...(same ? old!.unpacked : []), ...unpacked[p.name]])],
                created: same ? old!.created : now,
                updated: same ? old!.updated : now,
              };
              return { name: p.name, digest: p.target.digest, status: !old ? 'created' : same ? 'unchanged' : 'updated' };
            });
          });
        } finally {
          ingest.close();
        }
      });
    } finally {
      // whatever a failed (or replacing) import left unreferenced goes now,
      // or at the next GC when another import is running
      await this.gc();
    }
  }

  async list(): Promise<ImageRecord[]> {
    return this.db.read((doc) => Object.values(doc.images).sort((a, b) => a.name.localeCompare(b.name)));
  }

  async get(name: string): Promise<ImageRecord> {
    return this.db.read((doc) => getImage(doc, name));
  }

  /** The record with its manifest and config documents. */
  async inspect(name: string): Promise<{ image: ImageRecord; manifest: unknown; config: unknown }> {
    const image = await this.get(name);
    return { image, manifest: this.content.readJson(image.manifest), config: this.content.readJson(image.config) };
  }

  /** Snapshots made from the image (bundles), across the snapshotters. */
  async users(name: string): Promise<SnapshotInfo[]> {
    const out: SnapshotInfo[] = [];
    for (const sn of this.snapshotters()) await sn.walk((i) => void out.push(i), `labels."${IMAGE_LABEL}"==${JSON.stringify(name)}`);
    return out;
  }

  /** Removes the image; refused while a bundle uses it. Content other images share stays. */
  async remove(name: string): Promise<void> {
    await this.db.update(async (doc) => {
      getImage(doc, name);
      const users = await this.users(name);
      if (users.length > 0) {
        throw new HutchError('image rm', `image "${name}" is in use by ${users.length} container snapshot(s) (${users.map((u) => u.name).join(', ')}); delete those containers first`, {
          kind: 'failed-precondition',
          field: 'NAME',
        });
      }
      delete doc.images[name];
    });
    await this.gc();
  }

  /** Unpacks an image into another snapshotter (bundles do this on demand). */
  async unpack(name: string, snapshotter: string): Promise<string> {
    const image = await this.get(name);
    const top = await this.importing(() => unpackLayers(this.snapshotter(snapshotter), this.content, image.layers, image.diffIds, image.chainIds));
    await this.db.update((doc) => {
      const rec = getImage(doc, name);
      if (!rec.unpacked.includes(snapshotter)) rec.unpacked.push(snapshotter);
    });
    return top;
  }

  private snapshotters(): Snapshotter[] {
    let names: string[] = [];
    try {
      names = fs.readdirSync(path.join(this.root, 'snapshots'));
    } catch {
      return [];
    }
    return names.filter((n) => (SNAPSHOTTERS as readonly string[]).includes(n)).map((n) => this.snapshotter(n));
  }

  /**
   * Mark and sweep: blobs no image names, stale ingests, `extract-` snapshots of dead
   * imports and committed layers no image or bundle needs. Runs only while no import
   * is in progress (gc.lock exclusive); returns false when it had to skip.
   */
  async gc(): Promise<boolean> {
    if (!fs.existsSync(this.root)) return true;
    const fd = fs.openSync(path.join(this.root, 'gc.lock'), 'a', 0o600);
    try {
      if (!native().flockNow(fd, true)) return false;
      const doc: ImagesDoc = await this.db.read((d) => d);
      const images = Object.values(doc.images);
      const blobs = new Set(images.flatMap((i) => i.blobs));
      for (const d of this.content.list()) if (!blobs.has(d)) this.content.remove(d);
      this.content.sweepIngests();
      const layers = new Set(images.flatMap((i) => i.chainIds));
      for (const sn of this.snapshotters()) await collectSnapshots(sn, layers);
      return true;
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** Removes unneeded snapshots, children before parents. */
async function collectSnapshots(sn: Snapshotter, keep: Set<string>): Promise<void> {
  const all: SnapshotInfo[] = [];
  await sn.walk((i) => void all.push(i));
  for (const s of all) {
    if (s.kind === 'active' && s.name.startsWith(EXTRACT_PREFIX)) await sn.remove(s.name).catch(() => undefined);
  }
  const live = all.filter((s) => !(s.kind === 'active' && s.name.startsWith(EXTRACT_PREFIX)));
  // a bundle's snapshot keeps its ancestors
  const byName = new Map(live.map((s) => [s.name, s]));
  for (const s of live) {
    if (s.kind === 'committed') continue;
    for (let p = s.parent; p && !keep.has(p); p = byName.get(p)?.parent ?? '') keep.add(p);
  }
  let doomed = live.filter((s) => s.kind === 'committed' && !keep.has(s.name));
  while (doomed.length) {
    const parents = new Set(live.filter((s) => byName.has(s.name)).map((s) => s.parent));
    const leaves = doomed.filter((s) => !parents.has(s.name));
    if (leaves.length === 0) break;
    for (const s of leaves) {
      await sn.remove(s.name).catch(() => undefined);
      byName.delete(s.name);
    }
    doomed = doomed.filter((s) => byName.has(s.name));
  }
  await sn.cleanup();
}
