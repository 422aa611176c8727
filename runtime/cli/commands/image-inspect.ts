/** `hutch image inspect NAME`: the image record, manifest and config as JSON. */
import type { Command } from '../command';
import { printJson } from '../output';
import { HutchError } from '../../errors';
import { IMAGE_ROOT_FLAG, imageService } from './image-flags';

export const command: Command = {
  name: 'inspect',
  summary: "show an image's record, manifest and config",
  usage: '<name>',
  flags: [IMAGE_ROOT_FLAG],
  async run(ctx) {
    const name = ctx.args.positionals[0];
    if (!name) throw new HutchError('image inspect', 'needs an image name (usage: hutch image inspect <name>)', { kind: 'invalid-argument' });
    printJson(await imageService(ctx.args, ctx.globals.config).inspect(name));
  },
};
