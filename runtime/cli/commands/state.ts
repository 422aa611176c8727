import { requireId, type Command } from '../command';
import { containerState } from '../../lifecycle/query';
import { printJson } from '../output';

export const command: Command = {
  name: 'state',
  summary: 'print the state of a container (OCI state JSON)',
  usage: '<container-id>',
  flags: [],
  async run(ctx) {
    printJson(await containerState(ctx.globals.root, requireId('state', ctx)));
  },
};
