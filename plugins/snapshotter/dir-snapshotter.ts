/**
 * What the built-in snapshotters share: the metadata table (key → id, kind, parent,
 * labels, times) in a LockedJson under the root, one directory per snapshot
 * (`<root>/snapshots/<id>/fs`, numeric ids keep overlay lowerdir lists short), and
 * containerd's rules for every operation. Subclasses say how a snapshot's tree is
 * laid out and which mounts show it.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import { LockedJson } from '../store/locked-json';
import { diskUsage } from './disk-usage';
import { parseFilters } from './filters';
import type { Mount, SnapshotInfo, SnapshotKind, SnapshotOptions, SnapshotUsage, Snapshotter, WalkFn } from './snapshotter';

export interface SnapshotRecord {
  id: string;
  kind: SnapshotKind;
  parent: string;
  labels: Record<string, string>;
  created: string;
  updated: string;
  /** committed snapshots: usage measured at commit */
  size?: number;
  inodes?: number;
}

interface MetaDoc {
  version: 1;
  nextId: number;
  snapshots: Record<string, SnapshotRecord>;
}

/** A snapshot about to get its tree: its dir and its parents' fs dirs (nearest first). */
export interface Layout {
  id: string;
  kind: 'active' | 'view';
  /** <root>/snapshots/<id> (created empty by the base class, moved in place after) */
  dir: string;
  /** fs dirs of the parent chain, nearest first */
  parents: string[];
}

function err(op: string, kind: HutchError['kind'], detail: string, field = 'key'): HutchError {
  return new HutchError(op, detail, { kind, field });
}

export abstract class DirSnapshotter implements Snapshotter {
  abstract readonly name: string;
  protected readonly meta: LockedJson<MetaDoc>;

  constructor(readonly root: string) {
    this.meta = new LockedJson<MetaDoc>(path.join(root, 'metadata.json'), () => ({ version: 1, nextId: 1, snapshots: {} }));
  }

  /** Fills a new snapshot's dir (`fs`, and whatever else the kind needs). */
  protected abstract createLayout(layout: Layout): Promise<void>;
  /** The mounts that show snapshot `id` of `kind` over its parents. */
  protected abstract mountsOf(id: string, kind: SnapshotKind, parents: string[]): Mount[];

  fsDir(id: string): string {
    return path.join(this.root, 'snapshots', id, 'fs');
  }

  private snapshotsDir(): string {
    return path.join(this.root, 'snapshots');
  }

  private static get(op: string, doc: MetaDoc, key: string): SnapshotRecord {
    const rec = Object.prototype.hasOwnProperty.call(doc.snapshots, key) ? doc.snapshots[key] : undefined;
    if (!rec) throw err(op, 'not-found', `snapshot ${JSON.stringify(key)} does not exist`);
    return rec;
  }

  private parentDirs(doc: MetaDoc, parent: string): string[] {
    const dirs: string[] = [];
    for (let p = parent; p; p = doc.snapshots[p].parent) dirs.push(this.fsDir(doc.snapshots[p].id));
    return dirs;
  }

  private static info(name: string, rec: SnapshotRecord): SnapshotInfo {
    return { name, parent: rec.parent, kind: rec.kind, labels: { ...rec.labels }, created: new Date(rec.created), updated: new Date(rec.updated) };
  }

  async stat(key: string): Promise<SnapshotInfo> {
    return this.meta.read((doc) => DirSnapshotter.info(key, DirSnapshotter.get('stat', doc, key)));
  }

  async update(info: Pick<SnapshotInfo, 'name' | 'labels'>, fieldPaths: string[] = []): Promise<SnapshotInfo> {
    return this.meta.update((doc) => {
      const rec = DirSnapshotter.get('update', doc, info.name);
      const given = info.labels ?? {};
      let labels = { ...rec.labels };
      if (fieldPaths.length === 0) labels = { ...given };
      for (const p of fieldPaths) {
        if (p === 'labels') labels = { ...given };
        else if (p.startsWith('labels.')) {
          const k = p.slice('labels.'.length);
          if (given[k]) labels[k] = given[k];
          else delete labels[k];
        } else throw new HutchError('update', `cannot update ${JSON.stringify(p)} field on snapshot ${JSON.stringify(info.name)}`, { kind: 'invalid-argument', field: 'update_mask' });
      }
      rec.labels = labels;
      rec.updated = new Date().toISOString();
      return DirSnapshotter.info(info.name, rec);
    });
  }

  async usage(key: string): Promise<SnapshotUsage> {
    const rec = await this.meta.read((doc) => ({ ...DirSnapshotter.get('usage', doc, key) }));
    if (rec.kind === 'committed' && rec.size !== undefined) return { size: rec.size, inodes: rec.inodes ?? 0 };
    return diskUsage(this.fsDir(rec.id));
  }

  async mounts(key: string): Promise<Mount[]> {
    return this.meta.read((doc) => {
      const rec = DirSnapshotter.get('mounts', doc, key);
      if (rec.kind === 'committed') throw err('mounts', 'failed-precondition', `snapshot ${JSON.stringify(key)} is committed: only active and view snapshots have mounts`);
      return this.mountsOf(rec.id, rec.kind, this.parentDirs(doc, rec.parent));
    });
  }

  prepare(key: string, parent: string, options?: SnapshotOptions): Promise<Mount[]> {
    return this.create('prepare', 'active', key, parent, options);
  }

  view(key: string, parent: string, options?: SnapshotOptions): Promise<Mount[]> {
    return this.create('view', 'view', key, parent, options);
  }

  private create(op: string, kind: 'active' | 'view', key: string, parent: string, options?: SnapshotOptions): Promise<Mount[]> {
    if (!key) return Promise.reject(err(op, 'invalid-argument', 'the snapshot key is empty'));
    return this.meta.update(async (doc) => {
      if (Object.prototype.hasOwnProperty.call(doc.snapshots, key)) throw err(op, 'already-exists', `snapshot ${JSON.stringify(key)} already exists`);
      if (parent) {
        const p = Object.prototype.hasOwnProperty.call(doc.snapshots, parent) ? doc.snapshots[parent] : undefined;
        if (!p) throw err(op, 'not-found', `parent snapshot ${JSON.stringify(parent)} does not exist`, 'parent');
        if (p.kind !== 'committed') throw err(op, 'invalid-argument', `parent ${JSON.stringify(parent)} is not a committed snapshot`, 'parent');
      }
      const id = String(doc.nextId++);
      const dir = path.join(this.snapshotsDir(), id);
      const tmp = path.join(this.snapshotsDir(), `new-${crypto.randomBytes(6).toString('hex')}`);
      const parents = this.parentDirs(doc, parent);
      fs.mkdirSync(this.snapshotsDir(), { recursive: true, mode: 0o700 });
      fs.mkdirSync(tmp, { mode: 0o700 });
      try {
        await this.createLayout({ id, kind, dir: tmp, parents });
        fs.rmSync(dir, { recursive: true, force: true }); // a crash's leftover under a reused id
        fs.renameSync(tmp, dir);
      } catch (e) {
        fs.rmSync(tmp, { recursive: true, force: true });
        throw e;
      }
      const now = new Date().toISOString();
      doc.snapshots[key] = { id, kind, parent, labels: { ...(options?.labels ?? {}) }, created: now, updated: now };
      return this.mountsOf(id, kind, parents);
    });
  }

  commit(name: string, key: string, options?: SnapshotOptions): Promise<void> {
    if (!name) return Promise.reject(err('commit', 'invalid-argument', 'the committed name is empty', 'name'));
    return this.meta.update(async (doc) => {
      const rec = DirSnapshotter.get('commit', doc, key);
      if (rec.kind !== 'active') throw err('commit', 'failed-precondition', `snapshot ${JSON.stringify(key)} is ${rec.kind}, not active`);
      if (Object.prototype.hasOwnProperty.call(doc.snapshots, name)) throw err('commit', 'already-exists', `snapshot ${JSON.stringify(name)} already exists`, 'name');
      const usage = await diskUsage(this.fsDir(rec.id));
      delete doc.snapshots[key];
      const now = new Date().toISOString();
      doc.snapshots[name] = {
        ...rec,
        kind: 'committed',
        labels: { ...rec.labels, ...(options?.labels ?? {}) },
        updated: now,
        size: usage.size,
        inodes: usage.inodes,
      };
    });
  }

  async remove(key: string): Promise<void> {
    const doomed = await this.meta.update((doc) => {
      const rec = DirSnapshotter.get('remove', doc, key);
      const child = Object.entries(doc.snapshots).find(([, r]) => r.parent === key);
      if (child) throw err('remove', 'failed-precondition', `cannot remove snapshot ${JSON.stringify(key)}: snapshot ${JSON.stringify(child[0])} is its child`);
      delete doc.snapshots[key];
      const dir = path.join(this.snapshotsDir(), rec.id);
      const trash = path.join(this.snapshotsDir(), `rm-${rec.id}-${crypto.randomBytes(4).toString('hex')}`);
      try {
        fs.renameSync(dir, trash);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        return undefined;
      }
      return trash;
    });
    // Deleting the tree needs no lock: nothing refers to it any more.
    if (doomed) await fs.promises.rm(doomed, { recursive: true, force: true });
  }

  async walk(fn: WalkFn, ...filters: string[]): Promise<void> {
    const match = parseFilters(filters);
    const infos = await this.meta.read((doc) => Object.entries(doc.snapshots).map(([name, rec]) => DirSnapshotter.info(name, rec)));
    for (const info of infos) {
      const lookup = (p: string[]): string | undefined => {
        if (p.length === 1 && (p[0] === 'name' || p[0] === 'parent' || p[0] === 'kind')) return info[p[0]];
        if (p[0] === 'labels' && p.length > 1) return info.labels[p.slice(1).join('.')];
        return undefined;
      };
      if (match(lookup)) await fn(info);
    }
  }

  async cleanup(): Promise<void> {
    const doomed = await this.meta.update((doc) => {
      const owned = new Set(Object.values(doc.snapshots).map((r) => r.id));
      let names: string[] = [];
      try {
        names = fs.readdirSync(this.snapshotsDir());
      } catch {
        return [];
      }
      const out: string[] = [];
      for (const n of names.filter((n) => !owned.has(n))) {
        if (n.startsWith('rm-')) {
          out.push(path.join(this.snapshotsDir(), n)); // a remove that died before deleting
          continue;
        }
        const trash = path.join(this.snapshotsDir(), `rm-${n}-${crypto.randomBytes(4).toString('hex')}`);
        fs.renameSync(path.join(this.snapshotsDir(), n), trash);
        out.push(trash);
      }
      return out;
    });
    for (const d of doomed) await fs.promises.rm(d, { recursive: true, force: true });
  }
}
