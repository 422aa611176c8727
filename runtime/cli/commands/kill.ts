import { flagBool } from '../args';
import { requireId, type Command } from '../command';
import { killContainer } from '../../lifecycle/kill';
import { parseSignal } from '../../lifecycle/signals';

export const command: Command = {
  name: 'kill',
  summary: 'send a signal (default SIGTERM) to the container init, or to all its processes',
  usage: '<container-id> [signal]',
  flags: [{ name: 'all', short: 'a', type: 'bool', help: 'send the signal to all processes in the container' }],
  async run(ctx) {
    const id = requireId('kill', ctx);
    const signal = parseSignal('kill', ctx.args.positionals[1]);
    await killContainer({ root: ctx.globals.root, id, signal, all: flagBool(ctx.args, 'all') });
  },
};
