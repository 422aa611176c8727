/** Flags the image commands share: where image data lives and which snapshotter unpacks. */
import { flagString, type FlagSpec, type ParsedArgs } from '../args';
import type { ImageService } from '../../../plugins/images/images';
import { distRequire } from '../../dist-require';

/** plugins/images/images.ts DEFAULT_IMAGE_ROOT (not imported: the image library loads only when used) */
const DEFAULT_IMAGE_ROOT = '/var/lib/hutch';

export const IMAGE_ROOT_FLAG: FlagSpec = {
  name: 'image-root',
  type: 'string',
  help: `image data: content, image records, snapshots (default $HUTCH_IMAGE_ROOT or ${DEFAULT_IMAGE_ROOT})`,
};
export const SNAPSHOTTER_FLAG: FlagSpec = { name: 'snapshotter', type: 'string', help: 'snapshotter to unpack into: overlayfs (default) or native' };

export function imageService(args: ParsedArgs): ImageService {
  const { ImageService: Service } = distRequire<typeof import('../../../plugins/images/images')>('plugins/images/images');
  return new Service({ root: flagString(args, 'image-root') ?? process.env.HUTCH_IMAGE_ROOT, snapshotter: flagString(args, 'snapshotter') });
}
