/**
 * The image store: name → what the image is made of, in `<root>/images.json`
 * (a LockedJson, so many processes can import and remove at once).
 */
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import { LockedJson } from '../store/locked-json';
import type { Descriptor } from './media-types';

export interface ImageLayer {
  digest: string;
  mediaType: string;
  size: number;
}

export interface ImageRecord {
  name: string;
  /** what the archive named: an index or a manifest */
  target: Descriptor;
  /** the manifest used (linux/amd64 when the target is an index) */
  manifest: string;
  config: string;
  layers: ImageLayer[];
  diffIds: string[];
  chainIds: string[];
  /** every blob the image needs (GC keeps these) */
  blobs: string[];
  /** snapshotter names it is unpacked in */
  unpacked: string[];
  created: string;
  updated: string;
}

export interface ImagesDoc {
  version: 1;
  images: Record<string, ImageRecord>;
}

export function openImageDb(root: string): LockedJson<ImagesDoc> {
  return new LockedJson<ImagesDoc>(path.join(root, 'images.json'), () => ({ version: 1, images: {} }));
}

export function getImage(doc: ImagesDoc, name: string): ImageRecord {
  const rec = Object.prototype.hasOwnProperty.call(doc.images, name) ? doc.images[name] : undefined;
  if (!rec) throw new HutchError('image', `image "${name}" not found`, { kind: 'not-found', field: 'NAME' });
  return rec;
}
