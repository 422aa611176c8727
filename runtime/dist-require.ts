/**
 * Loads a compiled module of ours by its path under dist/, at run time. The CLI uses
 * it for heavy libraries only a few commands need (images, the gRPC snapshotter), so
 * the one-file bundle (scripts/bundle) does not carry them: esbuild leaves a require
 * with a computed path alone. This file sits two levels below the package root both
 * as dist/runtime/dist-require.js and inlined in dist/bundle/hutch.js, so `..` is dist/.
 *
 * Example:
 *   const { ImageService } = distRequire<typeof import('../plugins/images/images')>('plugins/images/images');
 */
import * as path from 'node:path';

export function distRequire<T>(modulePath: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(__dirname, '..', modulePath)) as T;
}
