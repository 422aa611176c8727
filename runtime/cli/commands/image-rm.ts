/** `hutch image rm NAME...`: refused while a container's snapshot uses the image. */
import type { Command } from '../command';
import { print } from '../output';
import { HutchError } from '../../errors';
import { IMAGE_ROOT_FLAG, imageService } from './image-flags';

export const command: Command = {
  name: 'rm',
  summary: 'remove images (content other images share stays)',
  usage: '<name>...',
  flags: [IMAGE_ROOT_FLAG],
  async run(ctx) {
    if (ctx.args.positionals.length === 0) throw new HutchError('image rm', 'needs an image name (usage: hutch image rm <name>...)', { kind: 'invalid-argument' });
    const images = imageService(ctx.args, ctx.globals.config);
    for (const name of ctx.args.positionals) {
      await images.remove(name);
      print(name);
    }
  },
};
