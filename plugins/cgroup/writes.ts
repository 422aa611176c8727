/**
 * Resource settings as a list of file writes, applied in order with a journal: when
 * one write fails, the ones before it are put back (newest first), so a failed
 * `update` leaves the cgroup as it was. The v1 and v2 planners (files-v1.ts,
 * files-v2.ts) produce the lists; this file only writes.
 *
 * Example:
 *   applyWrites('update', { memory: '/sys/fs/cgroup/memory/hutch/web' }, [
 *     { controller: 'memory', file: 'memory.limit_in_bytes', value: '104857600', field: 'linux.resources.memory.limit' },
 *   ]);
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError, errnoText } from '../../runtime/errors';

export interface CgroupWrite {
  /** key of the directory in CgroupHandle.dirs: a v1 controller ("memory") or "unified" */
  controller: string;
  file: string;
  value: string;
  /** the field it comes from, named as the user wrote it, for errors */
  field: string;
  /**
   * Files holding one line per key ("8:0 1048576"): how to undo this write is to
   * write back the old line for `key`, or `absent` when there was none.
   */
  keyed?: { key: string; absent: string };
  /** Ignore ENOENT (a file only some kernels have, written with a neutral value). */
  optional?: boolean;
  /** Said after an EINVAL or EOPNOTSUPP: what usually causes it. */
  hint?: string;
  /** Read back and compare: the kernel accepts some writes and ignores them. */
  verify?: (readBack: string) => string | undefined;
}

interface Undo {
  file: string;
  value: string;
}

function readOld(file: string, w: CgroupWrite): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!w.keyed) return text.trim();
  const line = text.split('\n').find((l) => l.startsWith(`${w.keyed?.key} `));
  return line ?? w.keyed.absent;
}

function writeError(op: string, w: CgroupWrite, file: string, err: NodeJS.ErrnoException): HutchError {
  const code = err.code ?? 'EIO';
  let why = errnoText(code);
  if (code === 'EINVAL') why = 'the kernel refused the value (invalid argument)';
  if (code === 'EOPNOTSUPP' || code === 'ENOTSUP') why = 'operation not supported';
  if (w.hint && ['EINVAL', 'EOPNOTSUPP', 'ENOTSUP'].includes(code)) why += `; ${w.hint}`;
  if (code === 'EBUSY' && w.file.startsWith('memory.')) why = 'the kernel could not bring usage below it (device or resource busy)';
  if (code === 'ENOENT') why = `${w.file} does not exist (the kernel lacks this setting)`;
  if (code === 'ENODEV') why = 'no such device';
  return new HutchError(op, `${w.field}: cannot write "${w.value}" to ${file}: ${why}`, { kind: code === 'EPERM' ? 'permission-denied' : 'invalid-argument', errno: code, field: w.field, path: file });
}

function writeRaw(file: string, value: string): void {
  fs.writeFileSync(file, value);
}

/** What was written, to put back if a later step fails. */
export interface Journal {
  rollback(): void;
}

/**
 * Writes `writes` in order; on failure restores the earlier ones and throws a
 * HutchError naming the field. On success returns the journal of old values.
 */
export function applyWrites(op: string, dirs: Record<string, string>, writes: CgroupWrite[], log?: (msg: string) => void): Journal {
  const undo: Undo[] = [];
  for (const w of writes) {
    const dir = dirs[w.controller];
    if (!dir) throw new HutchError(op, `${w.field}: the ${w.controller} controller is not available for this container`, { kind: 'failed-precondition', field: w.field });
    const file = path.join(dir, w.file);
    const old = readOld(file, w);
    try {
      writeRaw(file, w.value);
      if (w.verify) {
        const problem = w.verify(fs.readFileSync(file, 'utf8').trim());
        if (problem) {
          if (old !== undefined) undo.push({ file, value: old });
          throw new HutchError(op, `${w.field}: ${problem}`, { kind: 'invalid-argument', field: w.field, path: file });
        }
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (!(e instanceof HutchError) && w.optional && err.code === 'ENOENT') continue;
      rollback(undo, log);
      throw e instanceof HutchError ? e : writeError(op, w, file, err);
    }
    if (old !== undefined) undo.push({ file, value: old });
    log?.(`cgroup: ${file} ← ${w.value}`);
  }
  return { rollback: () => rollback(undo, log) };
}

function rollback(undo: Undo[], log?: (msg: string) => void): void {
  for (const u of undo.reverse()) {
    try {
      writeRaw(u.file, u.value);
    } catch (e) {
      log?.(`cgroup: could not restore ${u.file} to "${u.value}": ${(e as Error).message}`);
    }
  }
}
