/**
 * The grouping policy for `start` (hutch's configuration file, `shim.group`; see
 * plugins/config.ts), and its note for the native launcher: the launcher parses no
 * JSON or YAML, so `start` leaves the resolved policy in <state root>/shim-grouping
 * next to the identity of the file it came from (path, device, inode, size, mtime in
 * ns). The launcher uses the note only while the file is unchanged
 * (addon/launcher/grouping.c reads it; the two must stay in step).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { findConfigFile, loadConfig, type ShimGrouping } from '../../plugins/config';
import { shimRootDir } from '../task/paths';

export const GROUPING_NOTE = 'shim-grouping';

/** The note's text for a configuration file and the policy read from it. */
export function groupingNote(file: string, st: fs.BigIntStats, grouping: ShimGrouping): string {
  return `${file}\n${st.dev} ${st.ino} ${st.size} ${st.mtimeNs}\n${grouping}\n`;
}

/** The policy in force; writes the launcher's note when a configuration file sets it. */
export function shimGrouping(): ShimGrouping {
  const explicit = process.env.HUTCH_CONFIG || undefined;
  const file = findConfigFile(explicit);
  if (!file) return 'auto';
  // identity before content: an edit in between leaves a note the launcher ignores
  const st = fs.statSync(file, { bigint: true });
  // by the path found above: /etc/hutch is not searched a second time
  const grouping = loadConfig(file).shim.group;
  try {
    const dir = shimRootDir();
    fs.mkdirSync(dir, { recursive: true, mode: 0o711 });
    const tmp = path.join(dir, `.${GROUPING_NOTE}.${process.pid}`);
    fs.writeFileSync(tmp, groupingNote(file, st, grouping), { mode: 0o644 });
    fs.renameSync(tmp, path.join(dir, GROUPING_NOTE));
  } catch {
    // only an optimisation: the launcher then leaves every start to us
  }
  return grouping;
}
