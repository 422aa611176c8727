/**
 * `ps`: the processes of a container, from its cgroup — as a JSON list of host pids,
 * or as `ps` prints them (runc runs `ps` with the given arguments, default `-ef`, and
 * keeps the header and the lines whose PID column is one of the container's).
 */
import { cgroupManagerOf } from '../../plugins/cgroup/select';
import { HutchError } from '../errors';
import { StateStore } from '../state/store';

/** Host pids of every process in the container's cgroup (sorted). */
export async function containerPids(root: string, id: string): Promise<number[]> {
  const record = new StateStore(root).read('ps', id);
  if (!record.cgroup) return [];
  const pids = await (await cgroupManagerOf(record.cgroup)).pids(record.cgroup);
  return [...new Set(pids)].sort((a, b) => a - b);
}

/** The header and the lines of `ps` output whose PID column is in `pids`. */
export function filterPsOutput(output: string, pids: number[]): string {
  const lines = output.split('\n');
  const header = lines[0] ?? '';
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn < 0) throw new HutchError('ps', "couldn't find PID field in ps output", { kind: 'invalid-argument' });
  const wanted = new Set(pids);
  const out = [header];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const field = line.trim().split(/\s+/)[pidColumn];
    const pid = Number(field);
    if (!/^\d+$/.test(field ?? '')) throw new HutchError('ps', `unable to parse pid: "${field}"`, { kind: 'internal' });
    if (wanted.has(pid)) out.push(line);
  }
  return out.join('\n');
}

/** Runs `ps` with `args` (default -ef) and keeps the container's lines. */
export async function psTable(root: string, id: string, args: string[]): Promise<string> {
  const pids = await containerPids(root, id);
  const { spawnSync } = require('node:child_process') as typeof import('node:child_process');
  const r = spawnSync('ps', args.length ? args : ['-ef'], { encoding: 'utf8' });
  if (r.error) throw new HutchError('ps', `run ps: ${r.error.message}`, { errno: (r.error as NodeJS.ErrnoException).code });
  if (r.status !== 0) throw new HutchError('ps', `ps ${args.join(' ')}: exit status ${r.status}: ${(r.stdout + r.stderr).trim()}`, { kind: 'invalid-argument' });
  return filterPsOutput(r.stdout, pids);
}
