/**
 * The snapshotter plugin kind, with containerd's snapshot semantics. A snapshot is a
 * directory tree addressed by a key. *Active* snapshots are writable and made with
 * `prepare` on top of a *committed* parent (or on nothing); `commit` freezes an active
 * snapshot under a new name; `view` makes a read-only snapshot of a committed parent.
 * A snapshotter never mounts anything itself: it answers with the mounts that make
 * the tree appear (overlay, bind), and the caller mounts them — on the host
 * (`mountAll` in ./mount), in a container, or containerd over gRPC (./proxy).
 *
 * Keys are opaque strings: containerd's look like `default/12/extract-123 sha256:…`.
 *
 * Example — unpacking one layer and starting a container on it:
 *   const sn = openSnapshotter('overlayfs', '/var/lib/hutch/snapshots/overlayfs');
 *   const mounts = await sn.prepare('extract-1', '');            // writable, empty
 *   await applyLayer(blobStream, mounts, { digest, diffId });    // ../images/layer-apply
 *   await sn.commit('sha256:<chain id>', 'extract-1');
 *   const rootfs = await sn.prepare('web', 'sha256:<chain id>'); // container's writable layer
 *   mountAll(rootfs, '/run/bundle/rootfs');
 *   ...
 *   unmountAll('/run/bundle/rootfs'); await sn.remove('web');
 *
 * Errors are HutchErrors whose `kind` the gRPC proxy maps to containerd's codes:
 * not-found, already-exists, failed-precondition (remove with children, commit of a
 * non-active key), invalid-argument (bad update field path, bad filter).
 */

/** containerd's snapshots.Kind */
export type SnapshotKind = 'view' | 'active' | 'committed';

export interface SnapshotInfo {
  /** the key (active/view) or name (committed) */
  name: string;
  /** parent's name, '' for none */
  parent: string;
  kind: SnapshotKind;
  labels: Record<string, string>;
  created: Date;
  updated: Date;
}

/** containerd's types.Mount: what to pass to mount(8), as containerd and shims read it. */
export interface Mount {
  type: string;
  source: string;
  /** unused by containerd; kept for the wire */
  target?: string;
  options: string[];
}

export interface SnapshotUsage {
  /** bytes used by this snapshot's own layer (hard links counted once) */
  size: number;
  /** inodes used by this snapshot's own layer */
  inodes: number;
}

export interface SnapshotOptions {
  labels?: Record<string, string>;
}

export type WalkFn = (info: SnapshotInfo) => void | Promise<void>;

export interface Snapshotter {
  /** "overlayfs", "native", or a user plugin's name */
  readonly name: string;
  /** Its state directory. */
  readonly root: string;
  stat(key: string): Promise<SnapshotInfo>;
  /**
   * Changes labels. `fieldPaths`: "labels" (replace all) or "labels.<key>" (set, or
   * delete when absent/empty in `info`); none = replace all labels. Others: invalid-argument.
   */
  update(info: Pick<SnapshotInfo, 'name' | 'labels'>, fieldPaths?: string[]): Promise<SnapshotInfo>;
  usage(key: string): Promise<SnapshotUsage>;
  /** The mounts of an active or view snapshot. */
  mounts(key: string): Promise<Mount[]>;
  /** A new active (writable) snapshot on a committed `parent` ('' for an empty one). */
  prepare(key: string, parent: string, options?: SnapshotOptions): Promise<Mount[]>;
  /** A new read-only view of a committed `parent`. */
  view(key: string, parent: string, options?: SnapshotOptions): Promise<Mount[]>;
  /** Freezes the active snapshot `key` as the committed snapshot `name`; `key` is gone after. */
  commit(name: string, key: string, options?: SnapshotOptions): Promise<void>;
  /** Removes a snapshot; refuses (failed-precondition) while it has children. */
  remove(key: string): Promise<void>;
  /** Calls `fn` for every snapshot matching any of `filters` (containerd filter syntax; none = all). */
  walk(fn: WalkFn, ...filters: string[]): Promise<void>;
  /** Removes directories no snapshot owns any more (left by crashes). */
  cleanup(): Promise<void>;
}
