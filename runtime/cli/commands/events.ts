import { flagBool, flagString } from '../args';
import { requireId, type Command } from '../command';
import { parseDuration, streamEvents } from '../../lifecycle/events';
import { print } from '../output';

export const command: Command = {
  name: 'events',
  summary: 'stream stats and OOM events of a container as JSON lines',
  usage: '<container-id>',
  flags: [
    { name: 'interval', type: 'string', help: 'time between stats events (default 5s)' },
    { name: 'stats', type: 'bool', help: 'print one stats event and exit' },
  ],
  async run(ctx) {
    const id = requireId('events', ctx);
    const interval = flagString(ctx.args, 'interval');
    await streamEvents({
      root: ctx.globals.root,
      id,
      statsOnly: flagBool(ctx.args, 'stats'),
      intervalMs: interval === undefined ? 5000 : parseDuration('events', interval),
      emit: print,
    });
  },
};
