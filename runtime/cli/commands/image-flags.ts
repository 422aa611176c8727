/** Flags the image commands share: where image data lives and which snapshotter unpacks. */
import { flagString, type FlagSpec, type ParsedArgs } from '../args';
import type { ImageService } from '../../../plugins/images/images';
import { distRequire } from '../../dist-require';
import { HutchError } from '../../errors';

/** plugins/images/images.ts DEFAULT_IMAGE_ROOT (not imported: the image library loads only when used) */
const DEFAULT_IMAGE_ROOT = '/var/lib/hutch';

export const IMAGE_ROOT_FLAG: FlagSpec = {
  name: 'image-root',
  type: 'string',
  help: `image data: content, image records, snapshots (default $HUTCH_IMAGE_ROOT or ${DEFAULT_IMAGE_ROOT})`,
};
export const SNAPSHOTTER_FLAG: FlagSpec = {
  name: 'snapshotter',
  type: 'string',
  help: "snapshotter to unpack into: overlayfs or native (default: the configuration's snapshotter.use, else overlayfs)",
};

/** --snapshotter, else `snapshotter.use` of hutch's configuration file (built-ins only here). */
export function snapshotterChoice(args: ParsedArgs, configPath: string | undefined): string | undefined {
  const flag = flagString(args, 'snapshotter');
  if (flag) return flag;
  const { loadConfig } = require('../../../plugins/config') as typeof import('../../../plugins/config');
  const use = loadConfig(configPath).snapshotter.use;
  if (use && use !== 'overlayfs' && use !== 'native') {
    throw new HutchError('image', `snapshotter.use: "${use}" is a user plugin; hutch's image commands unpack into the built-in overlayfs or native (pass --snapshotter)`, {
      kind: 'invalid-argument',
      field: 'snapshotter.use',
    });
  }
  return use;
}

export function imageService(args: ParsedArgs, configPath?: string): ImageService {
  const { ImageService: Service } = distRequire<typeof import('../../../plugins/images/images')>('plugins/images/images');
  return new Service({ root: flagString(args, 'image-root') ?? process.env.HUTCH_IMAGE_ROOT, snapshotter: snapshotterChoice(args, configPath) });
}
