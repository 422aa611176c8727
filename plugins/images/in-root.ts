/**
 * Reads a file inside a container root the way the container would see it: symlinks
 * are followed, but `/` and `..` never leave the root (like securejoin / chroot).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const MAX_LINKS = 40;

/** The host path of `p` inside `root`; null when a component is missing. */
export function resolveInRoot(root: string, p: string): string | null {
  let pending = p.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, part);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(host);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return null;
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      pending = [...target.split('/').filter(Boolean), ...pending];
      continue;
    }
    done.push(part);
  }
  return path.join(root, ...done);
}

export function readFileInRoot(root: string, p: string): string | null {
  const host = resolveInRoot(root, p);
  if (!host) return null;
  try {
    return fs.readFileSync(host, 'utf8');
  } catch {
    return null;
  }
}
