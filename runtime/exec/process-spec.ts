/**
 * The process `exec` runs, as runc builds it: either a whole OCI `process` document
 * (`--process FILE`, what containerd's shim, Docker and conmon pass), or the
 * container's own process with the command line's changes (args, --cwd, --env
 * appended, --tty, --user, --additional-gids, --cap, --no-new-privs). Users given
 * by name are resolved against the container's /etc/passwd and /etc/group.
 */
import * as fs from 'node:fs';
import { HutchError } from '../errors';
import { capabilityNumber } from '../spec/capabilities';
import type { Process } from '../spec/types';
import { validateProcess } from '../spec/validate';
import type { ContainerUsers } from './passwd';

export interface ExecFlags {
  /** --process FILE */
  processFile?: string;
  /** the command after the container id */
  args: string[];
  /** --tty, undefined when not given */
  tty?: boolean;
  cwd?: string;
  env: string[];
  /** --user uid[:gid] or name[:group] */
  user?: string;
  additionalGids: string[];
  caps: string[];
  /** --no-new-privs, undefined when not given */
  noNewPrivs?: boolean;
}

function invalid(op: string, field: string, problem: string): HutchError {
  return new HutchError(op, `${field}: ${problem}`, { kind: 'invalid-argument', field });
}

/** Reads and checks a --process file. */
export function loadProcessFile(op: string, file: string): Process {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HutchError(op, `--process: ${file}: ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`, {
      kind: 'invalid-argument',
      errno: err.code,
      field: '--process',
      path: file,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw invalid(op, '--process', `${file}: not valid JSON: ${(e as Error).message}`);
  }
  return validateProcess(op, raw);
}

function capName(op: string, name: string): string {
  const n = capabilityNumber(name);
  if (n === undefined) throw invalid(op, '--cap', `unknown capability "${name}"`);
  return name.toUpperCase().startsWith('CAP_') ? name.toUpperCase() : `CAP_${name.toUpperCase()}`;
}

function gidOf(op: string, value: string, field: string): number {
  if (!/^\d+$/.test(value) || Number(value) >= 2 ** 32) throw invalid(op, field, `"${value}" is not a group id`);
  return Number(value);
}

/** The process before user names are resolved; `user` is the raw --user value when names need the container. */
export function execProcessSpec(op: string, containerProcess: Process, flags: ExecFlags): { process: Process; user?: string } {
  let p: Process;
  if (flags.processFile) {
    p = loadProcessFile(op, flags.processFile);
  } else {
    if (flags.args.length === 0) throw invalid(op, 'exec', 'the command to run is missing (hutch exec <container-id> <command> [args...], or --process FILE)');
    // a deep copy: the container's record must not change
    p = JSON.parse(JSON.stringify(containerProcess)) as Process;
    p.args = [...flags.args];
    p.terminal = false;
    if (flags.cwd) p.cwd = flags.cwd;
    p.env = [...(p.env ?? []), ...flags.env];
    for (const g of flags.additionalGids) p.user.additionalGids = [...(p.user.additionalGids ?? []), gidOf(op, g, '--additional-gids')];
    if (flags.caps.length) {
      const caps = (p.capabilities ??= {});
      for (const c of flags.caps.map((n) => capName(op, n))) {
        for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), c];
        // ambient needs the capability inheritable too: only where the spec has inheritable ones (runc)
        if (caps.inheritable?.length) caps.ambient = [...(caps.ambient ?? []), c];
      }
    }
  }
  if (flags.cwd && flags.processFile) p.cwd = flags.cwd;
  if (!p.cwd.startsWith('/')) throw invalid(op, '--cwd', `"${p.cwd}" is not an absolute path`);
  if (flags.tty !== undefined) p.terminal = flags.tty;
  if (flags.noNewPrivs !== undefined) p.noNewPrivileges = flags.noNewPrivs;
  return { process: p, user: flags.user };
}

/** Applies --user (ids or names) to `p`, resolving names in the container. */
export function applyUser(op: string, p: Process, user: string, users: ContainerUsers): void {
  const [name, group] = user.split(':', 2);
  if (!name) throw invalid(op, '--user', `"${user}": want uid[:gid] or name[:group]`);
  if (/^\d+$/.test(name)) {
    p.user.uid = gidOf(op, name, '--user');
  } else {
    const entry = users.userByName(name);
    if (!entry) throw invalid(op, '--user', `unable to find user ${name}: no matching entries in the container's /etc/passwd`);
    p.user.uid = entry.uid;
    p.user.gid = entry.gid;
  }
  if (group === undefined) return;
  if (/^\d+$/.test(group)) {
    p.user.gid = gidOf(op, group, '--user');
    return;
  }
  const entry = users.groupByName(group);
  if (!entry) throw invalid(op, '--user', `unable to find group ${group}: no matching entries in the container's /etc/group`);
  p.user.gid = entry.gid;
}

/**
 * The environment as the program will see it: one entry per name, the last value
 * winning (runc sets them one by one), and HOME from the container's passwd entry
 * for the user when not given ("/" when there is none).
 */
export function finalEnv(env: string[], uid: number, users: ContainerUsers): string[] {
  const index = new Map<string, number>();
  const out: string[] = [];
  for (const e of env) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    const at = index.get(key);
    if (at === undefined) {
      index.set(key, out.length);
      out.push(e);
    } else {
      out[at] = e;
    }
  }
  if (!index.has('HOME')) out.push(`HOME=${users.userById(uid)?.home || '/'}`);
  return out;
}
