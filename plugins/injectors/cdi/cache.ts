/**
 * The CDI devices on this host: every `*.json` and `*.yaml` file directly in the spec
 * directories (not in subdirectories), read into one table of qualified device names.
 * A later directory has higher priority: its definition of a device wins. Two
 * definitions of one device in the same directory are a conflict, and neither is used.
 * A file that is invalid is left out and remembered, so an unknown-device error can
 * name it.
 *
 * Example:
 *   const cache = readCdiDirs(['/etc/cdi', '/var/run/cdi']);
 *   cache.devices.get('vendor.com/dev=dev0')   // { spec, device, file }
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../../runtime/errors';
import { parseCdiSpec, type CdiDevice, type CdiSpec } from './spec-file';

export interface CdiEntry {
  spec: CdiSpec;
  device: CdiDevice;
  file: string;
  priority: number;
}

export interface CdiCache {
  devices: Map<string, CdiEntry>;
  /** device → the files that define it with the same (top) priority */
  conflicts: Map<string, string[]>;
  /** files left out, with why */
  invalid: { file: string; error: HutchError }[];
}

export function readCdiDirs(dirs: readonly string[]): CdiCache {
  const cache: CdiCache = { devices: new Map(), conflicts: new Map(), invalid: [] };
  dirs.forEach((dir, priority) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir).sort();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      throw new HutchError('', `${dir}: cannot read CDI spec directory: ${(e as Error).message}`, { errno: code, path: dir });
    }
    for (const name of names) {
      const ext = path.extname(name);
      if (ext !== '.json' && ext !== '.yaml') continue;
      const file = path.join(dir, name);
      let spec: CdiSpec;
      try {
        if (!fs.statSync(file).isFile()) continue;
        spec = parseCdiSpec(fs.readFileSync(file, 'utf8'), file);
      } catch (e) {
        const error = e instanceof HutchError ? e : new HutchError('', `${file}: cannot read: ${(e as Error).message}`, { errno: (e as NodeJS.ErrnoException).code, path: file });
        cache.invalid.push({ file, error });
        continue;
      }
      for (const device of spec.devices) {
        const qualified = `${spec.kind}=${device.name}`;
        const old = cache.devices.get(qualified);
        if (old && old.priority === priority) {
          const files = cache.conflicts.get(qualified) ?? [old.file];
          files.push(file);
          cache.conflicts.set(qualified, files);
          continue;
        }
        if (old && old.priority > priority) continue;
        cache.conflicts.delete(qualified); // a higher-priority directory settles an earlier conflict
        cache.devices.set(qualified, { spec, device, file, priority });
      }
    }
  });
  for (const name of cache.conflicts.keys()) cache.devices.delete(name);
  return cache;
}
