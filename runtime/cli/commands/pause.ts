import { requireId, type Command } from '../command';
import { pauseContainer } from '../../lifecycle/pause';

export const command: Command = {
  name: 'pause',
  summary: 'suspend all processes of a container (cgroup freezer)',
  usage: '<container-id>',
  flags: [],
  async run(ctx) {
    await pauseContainer({ root: ctx.globals.root, id: requireId('pause', ctx) });
  },
};
