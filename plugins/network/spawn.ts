/**
 * Child processes that die with us. A network change must not outlive the process
 * that started it: if hutch is killed mid-setup, its cleanup (teardown, reclaim) may
 * run at once, and an orphaned iptables-restore or CNI plugin finishing afterwards
 * would leave rules or links no one removes. `setpriv --pdeathsig KILL` (util-linux)
 * asks the kernel to kill the child when its parent thread ends; without setpriv the
 * child runs plainly.
 */
import { spawn, type ChildProcessWithoutNullStreams, type SpawnOptionsWithoutStdio } from 'node:child_process';
import * as fs from 'node:fs';

const SEARCH = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];
const resolved = new Map<string, string>();

/** Absolute path of a host tool (containerd and shims run with a short PATH); the bare name when not found. */
export function hostTool(name: string): string {
  let found = resolved.get(name);
  if (!found) {
    const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH];
    found = dirs.map((d) => `${d}/${name}`).find((p) => fs.existsSync(p)) ?? name;
    resolved.set(name, found);
  }
  return found;
}

export function spawnTied(file: string, args: string[], options: SpawnOptionsWithoutStdio = {}): ChildProcessWithoutNullStreams {
  const setpriv = hostTool('setpriv');
  return setpriv.startsWith('/')
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', file, ...args], { ...options, stdio: 'pipe' })
    : spawn(file, args, { ...options, stdio: 'pipe' });
}
