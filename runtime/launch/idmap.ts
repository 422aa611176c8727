/** uid_map / gid_map of a new user namespace, written by the parent (root: directly). */
import * as fs from 'node:fs';
import { HutchError } from '../errors';
import type { IdMapping, Spec } from '../spec/types';

function mapText(maps: IdMapping[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

export async function writeIdMaps(op: string, pid: number, spec: Spec): Promise<void> {
  const write = (file: string, text: string, field: string): void => {
    if (!text) return;
    try {
      fs.writeFileSync(`/proc/${pid}/${file}`, text);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new HutchError(op, `${field}: write /proc/${pid}/${file}: ${err.message}`, { errno: err.code, field, step: 'idmap' });
    }
  };
  write('uid_map', mapText(spec.linux?.uidMappings), 'linux.uidMappings');
  write('gid_map', mapText(spec.linux?.gidMappings), 'linux.gidMappings');
}
