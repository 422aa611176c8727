/** `hutch image import FILE [--name NAME]`: a docker save archive, OCI archive or OCI layout directory. */
import { flagBool, flagString } from '../args';
import type { Command } from '../command';
import { print } from '../output';
import { HutchError } from '../../errors';
import { IMAGE_ROOT_FLAG, SNAPSHOTTER_FLAG, imageService } from './image-flags';
import { progressBar } from '../progress';

export const command: Command = {
  name: 'import',
  summary: 'import images from a docker save archive, an OCI archive or an OCI layout directory, and unpack them',
  usage: '<file|dir>',
  flags: [
    { name: 'name', type: 'string', help: 'name the image (required when the archive names none)' },
    { name: 'no-unpack', type: 'bool', help: 'store the content only' },
    IMAGE_ROOT_FLAG,
    SNAPSHOTTER_FLAG,
  ],
  async run(ctx) {
    const file = ctx.args.positionals[0];
    if (!file) throw new HutchError('image import', 'needs an archive (usage: hutch image import <file|dir>)', { kind: 'invalid-argument' });
    const bar = progressBar(`importing ${file}`);
    try {
      const results = await imageService(ctx.args, ctx.globals.config).import(file, {
        name: flagString(ctx.args, 'name'),
        noUnpack: flagBool(ctx.args, 'no-unpack'),
        progress: bar?.update,
      });
      bar?.done();
      for (const r of results) print(`${r.name}\t${r.digest}\t${r.status}`);
    } finally {
      bar?.done();
    }
  },
};
