/** The OCI and Docker media types images are made of, and digest helpers. */
import * as crypto from 'node:crypto';
import { HutchError } from '../../runtime/errors';

export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export type Compression = 'none' | 'gzip' | 'zstd';

const LAYERS: Record<string, Compression> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar': 'none',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
};

export function isIndex(mt: string | undefined): boolean {
  return mt === MT.ociIndex || mt === MT.dockerList;
}

export function isManifest(mt: string | undefined): boolean {
  return mt === MT.ociManifest || mt === MT.dockerManifest;
}

export function isConfig(mt: string | undefined): boolean {
  return mt === MT.ociConfig || mt === MT.dockerConfig;
}

/** The compression a layer media type declares; unknown types are refused. */
export function layerCompression(mediaType: string, where: string): Compression {
  const c = LAYERS[mediaType];
  if (!c) throw new HutchError('import', `${where}: unknown layer media type "${mediaType}"`, { kind: 'invalid-argument', field: `${where}.mediaType` });
  return c;
}

/**
 * The compression a blob's first bytes show (gzip 1f 8b, zstd frame 28 b5 2f fd).
 * Fewer than 4 bytes are fine: callers that only ask about gzip read just 2.
 */
export function sniff(head: Buffer): Compression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

const DIGEST = /^sha256:[a-f0-9]{64}$/;

export function checkDigest(digest: unknown, where: string): string {
  if (typeof digest !== 'string' || !DIGEST.test(digest)) {
    throw new HutchError('import', `${where}: invalid digest ${JSON.stringify(digest)} (want sha256:<64 hex digits>)`, { kind: 'invalid-argument', field: where });
  }
  return digest;
}

export function sha256(data: Buffer | string): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

/** containerd's chain ids: chain[0] = diff[0]; chain[i] = sha256(chain[i-1] + " " + diff[i]). */
export function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}
