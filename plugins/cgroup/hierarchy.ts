/**
 * Where the host's cgroup hierarchies are: v1 controllers (each its own mount, or
 * co-mounted like "cpu,cpuacct"), named v1 hierarchies (name=systemd) and the v2
 * unified mount — read once from /proc/self/mountinfo.
 */
import * as fs from 'node:fs';

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

export function hostLayout(): HostLayout {
  const all = hierarchies();
  const v1 = all.some((h) => h.fstype === 'cgroup');
  const v2 = all.some((h) => h.fstype === 'cgroup2');
  if (v1 && v2) return 'hybrid';
  return v1 ? 'v1' : 'v2';
}
