/** --pid-file: the decimal pid, no newline, written atomically (temp + rename), as runc does. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../errors';

export function writePidFile(op: string, file: string, pid: number): void {
  const abs = path.resolve(file);
  const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}`);
  try {
    fs.writeFileSync(tmp, String(pid), { mode: 0o644 });
    fs.renameSync(tmp, abs);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HutchError(op, `--pid-file: ${abs}: ${err.message}`, { errno: err.code, field: '--pid-file', path: abs });
  }
}
