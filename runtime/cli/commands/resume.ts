import { requireId, type Command } from '../command';
import { resumeContainer } from '../../lifecycle/pause';

export const command: Command = {
  name: 'resume',
  summary: 'resume all processes of a paused container',
  usage: '<container-id>',
  flags: [],
  async run(ctx) {
    await resumeContainer({ root: ctx.globals.root, id: requireId('resume', ctx) });
  },
};
