import { requireId, type Command } from '../command';
import { startContainer } from '../../lifecycle/start';

export const command: Command = {
  name: 'start',
  summary: 'run the user program of a created container',
  usage: '<container-id>',
  flags: [],
  async run(ctx) {
    await startContainer({ root: ctx.globals.root, id: requireId('start', ctx), warn: (m) => ctx.log.warn(m) });
  },
};
