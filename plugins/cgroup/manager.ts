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
import type { LinuxResources } from '../../runtime/spec/types';

export interface CgroupRequest {
  /** container id (for a default path and messages) */
  id: string;
  /** linux.cgroupsPath as given; undefined means the manager's default (/hutch/<id>) */
  cgroupsPath?: string;
  resources?: LinuxResources;
  /** Rootless: skip what we are not allowed to do instead of failing. */
  rootless?: boolean;
}

/** Serialisable: stored in state.json, handed back to every later call. */
export interface CgroupHandle {
  /** 1 for v1/hybrid hosts (controllers in v1 hierarchies), 2 for unified hosts */
  version: 1 | 2;
  /** The container's cgroup path relative to each hierarchy root, e.g. "/hutch/web". */
  path: string;
  /** v1: controller (or "name=systemd", "unified") → absolute directory; v2: { unified: dir } */
  dirs: Record<string, string>;
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

/** Metrics in containerd's shape; `version` picks io.containerd.cgroups.v1/v2.Metrics. */
export interface CgroupStats {
  version: 1 | 2;
  /** the plain object that encodes to the Metrics protobuf of that version */
  metrics: Record<string, unknown>;
}

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
  /** Applies new resources (`hutch update`); on failure the previous values stay. */
  update(handle: CgroupHandle, resources: LinuxResources): Promise<void>;
  /** Freezes or thaws every process. */
  setFrozen(handle: CgroupHandle, frozen: boolean): Promise<void>;
  /** "frozen", "thawed", or "freezing" (v1 transitional) */
  freezerState(handle: CgroupHandle): Promise<'frozen' | 'thawed' | 'freezing'>;
  /** Host pids of every process in the cgroup. */
  pids(handle: CgroupHandle): Promise<number[]>;
  /** Sends a signal to every process (freezing first where needed, so none escapes by forking). */
  signalAll(handle: CgroupHandle, signal: number): Promise<void>;
  stats(handle: CgroupHandle): Promise<CgroupStats>;
  /** Calls back on each OOM kill in the cgroup. */
  watchOom(handle: CgroupHandle, onOom: () => void): Disposable;
  /** What to mount at the container's /sys/fs/cgroup. */
  mountSources(handle: CgroupHandle): CgroupMountSource[];
  /** Kills what is left, waits for it, removes the cgroup; already-gone is fine. */
  destroy(handle: CgroupHandle): Promise<void>;
}
