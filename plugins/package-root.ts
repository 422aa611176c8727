/**
 * The directory hutch is installed in (the one holding its package.json), found from
 * wherever this code runs: dist/<folder>/… after tsc, or dist/bundle/hutch.js after
 * scripts/bundle. Programs hutch ships (bin/hutch-gpu-hook) are found from it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

let root: string | undefined;

export function packageRoot(): string {
  if (root) return root;
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'hutch') return (root = dir);
    } catch {
      // no package.json here: keep climbing
    }
    if (dir === path.dirname(dir)) return (root = path.resolve(__dirname, '..', '..'));
  }
}
