/**
 * `hutch bundle IMAGE DIR [ARGS...]`: an OCI bundle from an image (config.json from the
 * image config, rootfs mounted from a new snapshot). `hutch bundle --release DIR`
 * unmounts and removes that snapshot (what `hutch delete` does for such containers).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { flagBool } from '../args';
import type { Command } from '../command';
import { print } from '../output';
import { HutchError } from '../../errors';
import { distRequire } from '../../dist-require';
import { IMAGE_ROOT_FLAG, SNAPSHOTTER_FLAG, imageService } from './image-flags';

export const command: Command = {
  name: 'bundle',
  summary: 'make an OCI bundle (config.json + mounted rootfs) from an image; --release DIR undoes it',
  usage: '<image> <dir> [-- command...] | --release <dir>',
  flags: [{ name: 'release', type: 'bool', help: "unmount and remove a bundle's snapshot" }, IMAGE_ROOT_FLAG, SNAPSHOTTER_FLAG],
  stopAtPositional: false,
  async run(ctx) {
    const [first, second, ...args] = ctx.args.positionals;
    if (flagBool(ctx.args, 'release')) {
      if (!first) throw new HutchError('bundle', '--release needs the bundle directory', { kind: 'invalid-argument', field: '--release' });
      const configPath = path.join(first, 'config.json');
      let annotations: Record<string, string> | undefined;
      try {
        annotations = (JSON.parse(fs.readFileSync(configPath, 'utf8')) as { annotations?: Record<string, string> }).annotations;
      } catch (e) {
        throw new HutchError('bundle', `${configPath}: ${(e as Error).message}`, { kind: 'invalid-argument', path: configPath });
      }
      const { releaseBundleSnapshot } = distRequire<typeof import('../../../plugins/images/release')>('plugins/images/release');
      if (!(await releaseBundleSnapshot(annotations))) throw new HutchError('bundle', `${configPath} names no hutch snapshot`, { kind: 'invalid-argument', path: configPath });
      return;
    }
    if (!first || !second) throw new HutchError('bundle', 'needs an image and a directory (usage: hutch bundle <image> <dir> [-- command...])', { kind: 'invalid-argument' });
    const { createBundle } = distRequire<typeof import('../../../plugins/images/bundle')>('plugins/images/bundle');
    const result = await createBundle(imageService(ctx.args, ctx.globals.config), { image: first, dir: second, args: args.length ? args : undefined });
    print(result.dir);
  },
};
