import { flagBool, flagString } from '../args';
import type { Command } from '../command';
import { HutchError } from '../../errors';
import { listContainers } from '../../lifecycle/query';
import { print, printJson } from '../output';

/** runc's tabwriter layout: columns at least 12 wide, 3 spaces of padding. */
function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(12, ...rows.map((r) => r[c].length + 3)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]))).join('')).join('\n');
}

export const command: Command = {
  name: 'list',
  summary: 'list the containers under --root',
  usage: '',
  flags: [
    { name: 'format', short: 'f', type: 'string', help: 'table (default) or json' },
    { name: 'quiet', short: 'q', type: 'bool', help: 'display only container IDs' },
  ],
  async run(ctx) {
    const format = flagString(ctx.args, 'format') ?? 'table';
    if (format !== 'table' && format !== 'json') throw new HutchError('list', `--format: invalid format "${format}" (want table or json)`, { kind: 'invalid-argument', field: '--format' });
    const states = await listContainers(ctx.globals.root);
    if (flagBool(ctx.args, 'quiet')) {
      if (states.length) print(states.map((s) => s.id).join('\n'));
      return;
    }
    if (format === 'json') {
      print(states.length ? JSON.stringify(states) : 'null');
      return;
    }
    const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created ?? '', s.owner ?? ''])];
    print(table(rows));
    void printJson;
  },
};
