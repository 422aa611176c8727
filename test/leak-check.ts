/**
 * The suite's leak check: `snapshot FILE` before the tests, `compare FILE` after.
 * Reports mounts, cgroups, network links, network namespaces, state directories and
 * container processes that appeared during the run and are still there.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Snapshot {
  mounts: string[];
  cgroups: string[];
  links: string[];
  netns: string[];
  stateDirs: string[];
  processes: string[];
}

function mounts(): string[] {
  return fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]);
}

/** cgroup directories down to a few levels, in every hierarchy. */
function cgroups(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = path.join(dir, e.name);
      out.push(p);
      if (depth > 1) walk(p, depth - 1);
    }
  };
  walk('/sys/fs/cgroup', 5);
  return out;
}

function links(): string[] {
  return fs.readdirSync('/sys/class/net');
}

function netns(): string[] {
  try {
    return fs.readdirSync('/run/netns');
  } catch {
    return [];
  }
}

function stateDirs(): string[] {
  const out: string[] = [];
  for (const root of ['/run/hutch', '/run/runc', '/run/containerd']) {
    try {
      for (const e of fs.readdirSync(root)) out.push(path.join(root, e));
    } catch {
      // absent root: nothing to list
    }
  }
  return out;
}

/** Processes that are containers (another mount namespace: /proc/<pid>/root reads "/"
 * for those, so the namespace is what tells) or daemons tests start. */
function processes(): string[] {
  const out: string[] = [];
  const ourMnt = fs.readlinkSync('/proc/self/ns/mnt');
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (!cmd) continue; // kernel thread
      const mnt = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
      const daemon = /\b(containerd|dockerd|containerd-shim|conmon|hutch-init|memfd:hutch-init)\b/.test(cmd);
      if (mnt !== ourMnt || daemon) out.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function take(): Snapshot {
  return { mounts: mounts(), cgroups: cgroups(), links: links(), netns: netns(), stateDirs: stateDirs(), processes: processes() };
}

function added(before: string[], after: string[]): string[] {
  const seen = new Map<string, number>();
  for (const b of before) seen.set(b, (seen.get(b) ?? 0) + 1);
  const out: string[] = [];
  for (const a of after) {
    const n = seen.get(a) ?? 0;
    if (n > 0) seen.set(a, n - 1);
    else out.push(a);
  }
  return out;
}

function main(): void {
  const [mode, file] = process.argv.slice(2);
  if (mode === 'snapshot' && file) {
    fs.writeFileSync(file, JSON.stringify(take()));
    return;
  }
  if (mode !== 'compare' || !file) {
    console.error('usage: leak-check snapshot|compare FILE');
    process.exit(2);
  }
  const before = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
  const after = take();
  let leaks = 0;
  for (const key of Object.keys(after) as (keyof Snapshot)[]) {
    const extra = added(before[key], after[key]);
    for (const e of extra) console.error(`leak: ${key}: ${e}`);
    leaks += extra.length;
  }
  if (leaks) {
    try {
      console.error(execFileSync('ps', ['-eo', 'pid,ppid,cmd', '--forest'], { encoding: 'utf8' }));
    } catch {
      // ps is only a diagnosis aid
    }
    console.error(`leak check: ${leaks} leftover(s)`);
    process.exit(1);
  }
  console.log('leak check: nothing left behind');
}

main();
