import { flagBool } from '../args';
import { requireId, type Command } from '../command';
import { deleteContainer } from '../../lifecycle/delete';

export const command: Command = {
  name: 'delete',
  summary: 'delete a stopped container and everything it holds',
  usage: '<container-id>',
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'forcibly delete a running container (SIGKILL)' }],
  async run(ctx) {
    await deleteContainer({ root: ctx.globals.root, id: requireId('delete', ctx), force: flagBool(ctx.args, 'force'), warn: (m) => ctx.log.warn(m), configPath: ctx.globals.config });
  },
};
