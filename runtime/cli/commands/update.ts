/**
 * `hutch update`: runc's flags, or `-r FILE|-` with a JSON `linux.resources`
 * document. Errors name the flag the value came from.
 */
import * as fs from 'node:fs';
import { flagString, type FlagSpec } from '../args';
import { requireId, type Command } from '../command';
import { HutchError } from '../../errors';
import { updateContainer } from '../../lifecycle/update';
import type { LinuxResources } from '../../spec/types';

/** docker/go-units RAMInBytes: "512m", "1g", "100KiB", "1024" (binary multiples). */
export function parseRamInBytes(op: string, flag: string, text: string): number {
  if (text === '-1') return -1;
  const m = /^(\d+(?:\.\d+)?) ?([kmgtp])?i?b?$/i.exec(text.trim());
  if (!m) throw new HutchError(op, `--${flag}: invalid size "${text}" (like 512m, 1g, or bytes)`, { kind: 'invalid-argument', field: `--${flag}` });
  const exp = m[2] ? 'kmgtp'.indexOf(m[2].toLowerCase()) + 1 : 0;
  return Math.floor(Number(m[1]) * 1024 ** exp);
}

function integer(op: string, flag: string, text: string, min: number): number {
  if (!/^-?\d+$/.test(text) || Number(text) < min) {
    throw new HutchError(op, `--${flag}: invalid value "${text}"${min === 0 ? ' (want a non-negative integer)' : ''}`, { kind: 'invalid-argument', field: `--${flag}` });
  }
  return Number(text);
}

/** linux.resources field → the flag that sets it, for error messages */
const FLAG_OF: Record<string, string> = {
  'memory.limit': '--memory',
  'memory.swap': '--memory-swap',
  'memory.reservation': '--memory-reservation',
  'memory.kernel': '--kernel-memory',
  'memory.kernelTCP': '--kernel-memory-tcp',
  'cpu.shares': '--cpu-share',
  'cpu.quota': '--cpu-quota',
  'cpu.period': '--cpu-period',
  'cpu.realtimePeriod': '--cpu-rt-period',
  'cpu.realtimeRuntime': '--cpu-rt-runtime',
  'cpu.cpus': '--cpuset-cpus',
  'cpu.mems': '--cpuset-mems',
  'pids.limit': '--pids-limit',
  'blockIO.weight': '--blkio-weight',
};

const FLAGS: FlagSpec[] = [
  { name: 'resources', short: 'r', type: 'string', help: 'path to a JSON file with the resources to update, or - for stdin' },
  { name: 'blkio-weight', type: 'string', help: 'block IO weight (10–1000)' },
  { name: 'cpu-period', type: 'string', help: 'CPU CFS period in µs' },
  { name: 'cpu-quota', type: 'string', help: 'CPU CFS quota in µs per period' },
  { name: 'cpu-share', type: 'string', help: 'CPU shares (relative weight)' },
  { name: 'cpu-shares', type: 'string', help: 'the same as --cpu-share' },
  { name: 'cpu-rt-period', type: 'string', help: 'CPU real-time period in µs' },
  { name: 'cpu-rt-runtime', type: 'string', help: 'CPU real-time runtime in µs per period' },
  { name: 'cpuset-cpus', type: 'string', help: 'CPUs to use (0-3, 0,1)' },
  { name: 'cpuset-mems', type: 'string', help: 'memory nodes to use (0-3, 0,1)' },
  { name: 'kernel-memory', type: 'string', help: 'kernel memory limit (deprecated by the kernel)' },
  { name: 'kernel-memory-tcp', type: 'string', help: 'kernel TCP buffer limit (deprecated by the kernel)' },
  { name: 'memory', type: 'string', help: 'memory limit (512m, 1g; -1 for none)' },
  { name: 'memory-reservation', type: 'string', help: 'memory reservation (soft limit)' },
  { name: 'memory-swap', type: 'string', help: 'memory plus swap limit (-1 for unlimited swap)' },
  { name: 'pids-limit', type: 'string', help: 'maximum number of processes (-1 for none)' },
  { name: 'l3-cache-schema', type: 'string', help: 'Intel RDT L3 cache schema (not supported)' },
  { name: 'mem-bw-schema', type: 'string', help: 'Intel RDT memory bandwidth schema (not supported)' },
];

function readResources(op: string, source: string): LinuxResources {
  let text: string;
  try {
    text = fs.readFileSync(source === '-' ? 0 : source, 'utf8');
  } catch (e) {
    throw new HutchError(op, `--resources: ${source}: ${(e as Error).message}`, { kind: 'invalid-argument', field: '--resources', errno: (e as NodeJS.ErrnoException).code });
  }
  try {
    return JSON.parse(text) as LinuxResources;
  } catch (e) {
    throw new HutchError(op, `--resources: ${source === '-' ? 'stdin' : source} is not valid JSON: ${(e as Error).message}`, { kind: 'invalid-argument', field: '--resources' });
  }
}

function fromFlags(op: string, get: (flag: string) => string | undefined): LinuxResources {
  const r: LinuxResources = {};
  const memory: NonNullable<LinuxResources['memory']> = {};
  const cpu: NonNullable<LinuxResources['cpu']> = {};
  const mem = (flag: string, key: 'limit' | 'swap' | 'reservation' | 'kernel' | 'kernelTCP'): void => {
    const v = get(flag);
    if (v !== undefined) memory[key] = parseRamInBytes(op, flag, v);
  };
  mem('memory', 'limit');
  mem('memory-swap', 'swap');
  mem('memory-reservation', 'reservation');
  mem('kernel-memory', 'kernel');
  mem('kernel-memory-tcp', 'kernelTCP');
  const num = (flag: string, min: number): number | undefined => {
    const v = get(flag);
    return v === undefined ? undefined : integer(op, flag, v, min);
  };
  const shares = num('cpu-share', 0) ?? num('cpu-shares', 0);
  if (shares !== undefined) cpu.shares = shares;
  const quota = num('cpu-quota', -1);
  if (quota !== undefined) cpu.quota = quota;
  const period = num('cpu-period', 0);
  if (period !== undefined) cpu.period = period;
  const rtPeriod = num('cpu-rt-period', 0);
  if (rtPeriod !== undefined) cpu.realtimePeriod = rtPeriod;
  const rtRuntime = num('cpu-rt-runtime', -1);
  if (rtRuntime !== undefined) cpu.realtimeRuntime = rtRuntime;
  if (get('cpuset-cpus') !== undefined) cpu.cpus = get('cpuset-cpus');
  if (get('cpuset-mems') !== undefined) cpu.mems = get('cpuset-mems');
  const pids = num('pids-limit', -1);
  if (pids !== undefined) r.pids = { limit: pids };
  const weight = num('blkio-weight', 0);
  if (weight !== undefined) r.blockIO = { weight };
  if (Object.keys(memory).length) r.memory = memory;
  if (Object.keys(cpu).length) r.cpu = cpu;
  return r;
}

export const command: Command = {
  name: 'update',
  summary: 'update the resource limits of a running container',
  usage: '<container-id>',
  flags: FLAGS,
  async run(ctx) {
    const op = 'update';
    const id = requireId(op, ctx);
    const get = (flag: string): string | undefined => flagString(ctx.args, flag);
    for (const rdt of ['l3-cache-schema', 'mem-bw-schema']) {
      if (get(rdt) !== undefined) throw new HutchError(op, `--${rdt}: Intel RDT is not supported`, { kind: 'unimplemented', field: `--${rdt}` });
    }
    const source = get('resources');
    const resources = source !== undefined ? readResources(op, source) : fromFlags(op, get);
    if (source === undefined && Object.keys(resources).length === 0) {
      throw new HutchError(op, 'nothing to update: give --resources FILE or one of the resource flags (see --help)', { kind: 'invalid-argument' });
    }
    const name = source !== undefined ? (p: string) => `linux.resources.${p}` : (p: string) => FLAG_OF[p] ?? `linux.resources.${p}`;
    await updateContainer({ root: ctx.globals.root, id, resources, name, debug: (m) => ctx.log.debug(m) });
  },
};
