import { flagString } from '../args';
import { requireId, type Command } from '../command';
import { HutchError } from '../../errors';
import { containerPids, psTable } from '../../lifecycle/ps';
import { print } from '../output';

export const command: Command = {
  name: 'ps',
  summary: 'list the processes of a container (extra arguments go to ps)',
  usage: '<container-id> [ps options]',
  flags: [{ name: 'format', short: 'f', type: 'string', help: 'table (default) or json' }],
  stopAtPositional: true,
  async run(ctx) {
    const id = requireId('ps', ctx);
    const format = flagString(ctx.args, 'format') ?? 'table';
    if (format === 'json') {
      const pids = await containerPids(ctx.globals.root, id);
      // Go encodes an empty (nil) slice as null
      print(pids.length ? JSON.stringify(pids) : 'null');
      return;
    }
    if (format !== 'table') throw new HutchError('ps', `--format: invalid format "${format}" (want table or json)`, { kind: 'invalid-argument', field: '--format' });
    print(await psTable(ctx.globals.root, id, ctx.args.positionals.slice(1)));
  },
};
