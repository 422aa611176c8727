/**
 * The cgroup manager plugin kind. A manager owns one container's cgroup from
 * creation to removal. The runtime stores the returned `CgroupHandle` in the
 * container's state, so any later `hutch` process (or the shim) can act on it.
 *
 * Example — what `create` does with a manager:
 *   const handle = await manager.create({ id: 'web', cgroupsPath: '/hutch/web', resources });
 *   await manager.attach(handle, initPid);       // before the init runs anything
 *   ...
 *   await manager.destroy(handle);               // kills what is left, removes it
 */
import type { Device, LinuxResources } from '../../runtime/spec/types';
import type { MetricsV1, MetricsV2 } from './metrics';
import type { FieldNamer } from './validate';

export interface CgroupRequest {
  /** container id (for a default path and messages) */
  id: string;
  /** linux.cgroupsPath as given; undefined means the manager's default (/hutch/<id>) */
  cgroupsPath?: string;
  resources?: LinuxResources;
  /** linux.devices: device nodes the container gets, allowed like runc allows them */
  devices?: Device[];
  /** Rootless: skip what we are not allowed to do instead of failing. */
  rootless?: boolean;
  /** debug log lines (each file written) */
  debug?: (msg: string) => void;
}

/** Options of `update`. */
export interface CgroupUpdateOptions {
  /** linux.devices of the container, when `resources.devices` is being changed */
  devices?: Device[];
  /** names fields as the user wrote them (a CLI flag rather than linux.resources.x) */
  name?: FieldNamer;
  debug?: (msg: string) => void;
}

/** Serialisable: stored in state.json, handed back to every later call. */
export interface CgroupHandle {
  /** 1 for v1/hybrid hosts (controllers in v1 hierarchies), 2 for unified hosts */
  version: 1 | 2;
  /** The container's cgroup path relative to each hierarchy root, e.g. "/hutch/web". */
  path: string;
  /** v1: controller (or "name=systemd", "unified") → absolute directory; v2: { unified: dir } */
  dirs: Record<string, string>;
  /** the manager that made it, when not the host's default ("none", a user plugin's name) */
  manager?: string;
}

/** One piece of the container's /sys/fs/cgroup. */
export interface CgroupMountSource {
  /** name under /sys/fs/cgroup ("" for v2: the mount itself) */
  name: string;
  /** filesystem type to mount with a new cgroup namespace: "cgroup" or "cgroup2" */
  fstype: 'cgroup' | 'cgroup2';
  /** mount data for fstype "cgroup" ("cpu,cpuacct", "none,name=systemd") */
  data?: string;
  /** host directory to bind mount without a cgroup namespace */
  hostDir: string;
  /** extra names that point at this one ("cpu" and "cpuacct" for "cpu,cpuacct") */
  links: string[];
}

/**
 * Metrics in containerd's shape; `version` picks io.containerd.cgroups.v1/v2.Metrics.
 * `metrics` is the plain object that encodes to that protobuf (see metrics.ts).
 */
export type CgroupStats = { version: 1; metrics: MetricsV1 } | { version: 2; metrics: MetricsV2 };

export interface Disposable {
  dispose(): void;
}

export interface CgroupManager {
  /** "v1", "v2", "none", or a user plugin's name */
  readonly name: string;
  /** Creates the cgroup (parents too) and applies resources; removes what it made on failure. */
  create(request: CgroupRequest): Promise<CgroupHandle>;
  /** Moves a process in (all hierarchies). */
  attach(handle: CgroupHandle, pid: number): Promise<void>;
  /** A directory fd for clone3(CLONE_INTO_CGROUP), where the host supports it. */
  openForClone?(handle: CgroupHandle): number | undefined;
  /**
   * Applies new resources (`hutch update`): the sections present in `resources` are
   * written whole (the caller merges them with what the container had); on failure
   * the previous values stay.
   */
  update(handle: CgroupHandle, resources: LinuxResources, options?: CgroupUpdateOptions): Promise<void>;
  /** Freezes or thaws every process. */
  setFrozen(handle: CgroupHandle, frozen: boolean): Promise<void>;
  /** "frozen", "thawed", or "freezing" (v1 transitional) */
  freezerState(handle: CgroupHandle): Promise<'frozen' | 'thawed' | 'freezing'>;
  /** Host pids of every process in the cgroup. */
  pids(handle: CgroupHandle): Promise<number[]>;
  /** Sends a signal to every process (freezing first where needed, so none escapes by forking). */
  signalAll(handle: CgroupHandle, signal: number): Promise<void>;
  stats(handle: CgroupHandle): Promise<CgroupStats>;
  /** Calls back on each OOM kill in the cgroup, and `onGone` once when the cgroup is removed. */
  watchOom(handle: CgroupHandle, onOom: () => void, onGone?: () => void): Disposable;
  /** What to mount at the container's /sys/fs/cgroup. */
  mountSources(handle: CgroupHandle): CgroupMountSource[];
  /** Kills what is left, waits for it, removes the cgroup; already-gone is fine. */
  destroy(handle: CgroupHandle): Promise<void>;
}
