/**
 * Where the host's cgroup hierarchies are: v1 controllers (each its own mount, or
 * co-mounted like "cpu,cpuacct"), named v1 hierarchies (name=systemd) and the v2
 * unified mount — read once from /proc/self/mountinfo.
 *
 * Example (this machine):
 *   hostLayout()      // 'hybrid'
 *   describeHost()    // { layout: 'hybrid', v1: ['blkio', 'cpu', …, 'pids'], v2: ['hugetlb'] }
 *   v1MissingReason('hugetlb')  // 'not mounted as cgroup v1 on this host (this hybrid host has it only in its cgroup v2 hierarchy)'
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Hierarchy {
  /** "cgroup" (v1) or "cgroup2" */
  fstype: 'cgroup' | 'cgroup2';
  mountpoint: string;
  /** v1: the controllers ("cpu", "cpuacct") or ["name=systemd"]; v2: [] */
  controllers: string[];
  /** v1 mount data to mount it again ("cpu,cpuacct", "none,name=systemd") */
  data: string;
}

export type HostLayout = 'v1' | 'hybrid' | 'v2';

let cached: Hierarchy[] | undefined;

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export function hierarchies(): Hierarchy[] {
  if (cached) return cached;
  const out: Hierarchy[] = [];
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const mountpoint = unescape(line.slice(0, sep).split(' ')[4]);
    if (fstype === 'cgroup2') {
      out.push({ fstype, mountpoint, controllers: [], data: '' });
      continue;
    }
    const opts = superOpts.split(',');
    const named = opts.find((o) => o.startsWith('name='));
    const controllers = named ? [named] : opts.filter((o) => o !== 'rw' && o !== 'ro' && !o.includes('=') && o !== 'clone_children' && o !== 'noprefix' && o !== 'xattr');
    out.push({ fstype, mountpoint, controllers, data: named ? `none,${named}` : controllers.join(',') });
  }
  cached = out;
  return out;
}

/** The directory process `pid` sits in within hierarchy `h`, from /proc/<pid>/cgroup ("4:memory:/a/b", "0::/a/b"). */
export function processCgroupDir(h: Hierarchy, pid: number | 'self' = 'self'): string | undefined {
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
    const [id, controllers, ...rest] = line.split(':');
    if (rest.length === 0) continue;
    const matches = h.fstype === 'cgroup2' ? id === '0' && controllers === '' : controllers.split(',').includes(h.controllers[0]);
    if (matches) return path.join(h.mountpoint, rest.join(':'));
  }
  return undefined;
}

export function hostLayout(): HostLayout {
  const all = hierarchies();
  const v1 = all.some((h) => h.fstype === 'cgroup');
  const v2 = all.some((h) => h.fstype === 'cgroup2');
  if (v1 && v2) return 'hybrid';
  return v1 ? 'v1' : 'v2';
}

/** The cgroup2 mount (v2 hosts: everything; hybrid hosts: controllers not bound to v1). */
export function unifiedHierarchy(): Hierarchy | undefined {
  return hierarchies().find((h) => h.fstype === 'cgroup2');
}

/** v1 controller ("cpu", "memory", "name=systemd") → the hierarchy it is mounted in. */
export function v1Controllers(): Map<string, Hierarchy> {
  const out = new Map<string, Hierarchy>();
  for (const h of hierarchies()) if (h.fstype === 'cgroup') for (const c of h.controllers) if (!out.has(c)) out.set(c, h);
  return out;
}

/** Controllers the running kernel has and enables (/proc/cgroups), mounted or not. */
export function kernelControllers(): string[] {
  try {
    return fs
      .readFileSync('/proc/cgroups', 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t'))
      .filter((f) => f[3] === '1')
      .map((f) => f[0]);
  } catch {
    return [];
  }
}

/** Controllers offered by the cgroup2 root (cgroup.controllers). */
export function unifiedControllers(): string[] {
  const h = unifiedHierarchy();
  if (!h) return [];
  try {
    return fs.readFileSync(`${h.mountpoint}/cgroup.controllers`, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/** Why a v1 container cannot use `controller`, in words for an error message. */
export function v1MissingReason(controller: string): string {
  if (!kernelControllers().includes(controller)) return 'not in this kernel';
  if (unifiedControllers().includes(controller)) return 'not mounted as cgroup v1 on this host (this hybrid host has it only in its cgroup v2 hierarchy)';
  return 'not mounted on this host';
}

/**
 * A summary of the host for `hutch features` and errors: layout, the v1 controllers
 * mounted, and the controllers of the cgroup2 root.
 */
export function describeHost(): { layout: HostLayout; v1: string[]; v2: string[] } {
  return { layout: hostLayout(), v1: [...v1Controllers().keys()].filter((c) => !c.startsWith('name=')).sort(), v2: unifiedControllers() };
}
