/** Replacing a state file so that concurrent readers (other hutch processes) never see it half written. */
import * as fs from 'node:fs';

/**
 * Writes `data` to a temporary file beside `file` (named after our pid, so two
 * writers never share one) and renames it over `file`. Mode 0600: state files may
 * name containers and addresses that other users should not read.
 */
export function writeAtomic(file: string, data: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, data, { mode: 0o600 });
  fs.renameSync(tmp, file);
}
