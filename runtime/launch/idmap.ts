/**
 * uid_map / gid_map of a new user namespace, written by the parent. Root writes them
 * directly. An unprivileged user (rootless) may write one line mapping its own id —
 * for gid_map only after "deny" in /proc/<pid>/setgroups, as the kernel requires;
 * any other mapping goes through the setuid helpers newuidmap/newgidmap, which check
 * it against /etc/subuid and /etc/subgid.
 */
import * as fs from 'node:fs';
import { HutchError } from '../errors';
import type { IdMapping, Spec } from '../spec/types';

function mapText(maps: IdMapping[] | undefined): string {
  return (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** One line mapping exactly `ownId`: what an unprivileged user may write itself. */
function isOwnIdOnly(maps: IdMapping[] | undefined, ownId: number | undefined): boolean {
  return !!maps && maps.length === 1 && maps[0].size === 1 && maps[0].hostID === ownId;
}

/**
 * Rootless with only its own gid mapped: setgroups(2) is denied in the container, so
 * the process keeps the groups it has (additionalGids cannot be set).
 */
export function setgroupsDenied(spec: Spec, rootless: boolean): boolean {
  return rootless && isOwnIdOnly(spec.linux?.gidMappings, process.getegid?.());
}

function writeProc(op: string, pid: number, file: string, text: string, field: string): void {
  try {
    fs.writeFileSync(`/proc/${pid}/${file}`, text);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HutchError(op, `${field}: write /proc/${pid}/${file}: ${err.message}`, { errno: err.code, field, step: 'idmap' });
  }
}

function runHelper(op: string, helper: string, pid: number, maps: IdMapping[], field: string): void {
  const args = [String(pid), ...maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  // loaded here: only rootless containers with several ids mapped need it
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync(helper, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.error) {
    const err = r.error as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? `${helper} is not installed (Debian: the uidmap package); it is needed to map more than your own id` : err.message;
    throw new HutchError(op, `${field}: ${why}`, { errno: err.code, field, step: 'idmap' });
  }
  if (r.status !== 0) {
    const out = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().split('\n').pop() ?? '';
    throw new HutchError(op, `${field}: ${helper} ${args.join(' ')} failed (exit ${r.status})${out ? `: ${out}` : ''}`, { field, step: 'idmap' });
  }
}

export async function writeIdMaps(op: string, pid: number, spec: Spec, rootless = process.geteuid?.() !== 0): Promise<void> {
  const uids = spec.linux?.uidMappings;
  const gids = spec.linux?.gidMappings;
  if (!rootless) {
    if (uids?.length) writeProc(op, pid, 'uid_map', mapText(uids), 'linux.uidMappings');
    if (gids?.length) writeProc(op, pid, 'gid_map', mapText(gids), 'linux.gidMappings');
    return;
  }
  if (uids?.length) {
    if (isOwnIdOnly(uids, process.geteuid?.())) writeProc(op, pid, 'uid_map', mapText(uids), 'linux.uidMappings');
    else runHelper(op, 'newuidmap', pid, uids, 'linux.uidMappings');
  }
  if (gids?.length) {
    if (setgroupsDenied(spec, true)) {
      writeProc(op, pid, 'setgroups', 'deny', 'linux.gidMappings');
      writeProc(op, pid, 'gid_map', mapText(gids), 'linux.gidMappings');
    } else {
      runHelper(op, 'newgidmap', pid, gids, 'linux.gidMappings');
    }
  }
}
