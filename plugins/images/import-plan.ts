/**
 * Turns an archive's metadata into what to store: for each image its name, the
 * target descriptor, the chosen manifest, config and layers — checking media types,
 * digests, sizes, the platform (linux/amd64 from an index) and the config's diff ids.
 */
import { HutchError } from '../../runtime/errors';
import type { ArchiveSource } from './archive';
import type { Ingest } from './content-store';
import type { ImageLayer } from './image-store';
import { checkDigest, isConfig, isIndex, isManifest, layerCompression, MT, sha256, sniff, type Descriptor } from './media-types';

export interface PlannedImage {
  name: string;
  target: Descriptor;
  manifest: string;
  config: string;
  layers: ImageLayer[];
  diffIds: string[];
  blobs: string[];
}

interface OciManifest {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
}

interface DockerManifestEntry {
  Config?: string;
  RepoTags?: string[] | null;
  Layers?: string[];
}

interface ImageConfig {
  os?: string;
  architecture?: string;
  rootfs?: { type?: string; diff_ids?: string[] };
}

const PLATFORM = { os: 'linux', architecture: 'amd64' };

function bad(where: string, detail: string): HutchError {
  return new HutchError('import', `${where}: ${detail}`, { kind: 'invalid-argument', field: where });
}

function parseJson<T>(buf: Buffer, where: string): T {
  try {
    return JSON.parse(buf.toString('utf8')) as T;
  } catch (e) {
    throw bad(where, `not valid JSON: ${(e as Error).message}`);
  }
}

async function blobJson<T>(src: ArchiveSource, ingest: Ingest, d: Descriptor, where: string): Promise<T> {
  checkDigest(d.digest, `${where}.digest`);
  await src.blob(d.digest, where);
  const buf = ingest.read(d.digest);
  if (typeof d.size === 'number' && d.size !== buf.length) throw bad(where, `size mismatch: blob ${d.digest} is ${buf.length} bytes, descriptor says ${d.size}`);
  return parseJson<T>(buf, `${where} (${d.digest})`);
}

function checkConfig(config: ImageConfig, layers: number, where: string): string[] {
  const ids = config.rootfs?.diff_ids;
  if (!Array.isArray(ids)) throw bad(`${where}.rootfs.diff_ids`, 'missing');
  if (ids.length !== layers) throw bad(`${where}.rootfs.diff_ids`, `has ${ids.length} entries for ${layers} layers`);
  ids.forEach((d, i) => checkDigest(d, `${where}.rootfs.diff_ids[${i}]`));
  if (config.os && config.os !== PLATFORM.os) throw bad(`${where}.os`, `image is for "${config.os}", not linux`);
  return ids;
}

/** Descends an index to the linux/amd64 manifest. */
async function pickManifest(src: ArchiveSource, ingest: Ingest, d: Descriptor, where: string, blobs: string[]): Promise<Descriptor> {
  for (let depth = 0; depth < 8; depth++) {
    if (isManifest(d.mediaType)) return d;
    if (!isIndex(d.mediaType)) throw bad(`${where}.mediaType`, `unknown media type "${d.mediaType}" (want an OCI/Docker index or manifest)`);
    const index = await blobJson<OciManifest>(src, ingest, d, where);
    blobs.push(d.digest);
    const list = index.manifests ?? [];
    const withPlatform = list.filter((m) => m.platform);
    const match =
      list.find((m) => m.platform?.os === PLATFORM.os && m.platform?.architecture === PLATFORM.architecture) ??
      (withPlatform.length === 0 && list.length === 1 ? list[0] : undefined);
    if (!match) {
      const have = list.map((m) => (m.platform ? `${m.platform.os}/${m.platform.architecture}` : 'unknown')).join(', ') || 'nothing';
      throw bad(where, `no linux/amd64 manifest in index ${d.digest} (it has: ${have})`);
    }
    d = match;
    where = `${where} → ${d.digest}`;
  }
  throw bad(where, 'indexes nested too deep');
}

async function planManifest(src: ArchiveSource, ingest: Ingest, name: string, target: Descriptor, where: string): Promise<PlannedImage> {
  const blobs: string[] = [];
  const md = await pickManifest(src, ingest, target, where, blobs);
  const manifest = await blobJson<OciManifest>(src, ingest, md, `${where} manifest`);
  blobs.push(md.digest);
  if (!manifest.config || !isConfig(manifest.config.mediaType)) {
    throw bad(`${where} manifest.config.mediaType`, `unknown config media type "${manifest.config?.mediaType}"`);
  }
  const config = await blobJson<ImageConfig>(src, ingest, manifest.config, `${where} config`);
  blobs.push(manifest.config.digest);
  const layers: ImageLayer[] = [];
  for (const [i, l] of (manifest.layers ?? []).entries()) {
    const lw = `${where} manifest.layers[${i}]`;
    layerCompression(l.mediaType, lw);
    checkDigest(l.digest, `${lw}.digest`);
    await src.blob(l.digest, lw);
    layers.push({ digest: l.digest, mediaType: l.mediaType, size: l.size });
    blobs.push(l.digest);
  }
  const diffIds = checkConfig(config, layers.length, `${where} config`);
  return { name, target, manifest: md.digest, config: manifest.config.digest, layers, diffIds, blobs: [...new Set(blobs)] };
}

const NAME_ANNOTATIONS = ['io.containerd.image.name', 'org.opencontainers.image.ref.name'];

async function planOci(src: ArchiveSource, ingest: Ingest, nameFlag: string | undefined): Promise<PlannedImage[]> {
  const index = parseJson<OciManifest>(src.meta('index.json')!, 'index.json');
  const list = index.manifests ?? [];
  if (list.length === 0) throw bad('index.json', 'names no image');
  if (nameFlag && list.length > 1) throw bad('--name', `the archive holds ${list.length} images; --name names only one`);
  const out: PlannedImage[] = [];
  for (const [i, d] of list.entries()) {
    const where = `index.json manifests[${i}]`;
    const annotated = NAME_ANNOTATIONS.map((k) => d.annotations?.[k]).find((v) => v);
    const name = nameFlag ?? annotated;
    if (!name) throw bad(where, 'has no image name (annotation org.opencontainers.image.ref.name); pass --name');
    out.push(await planManifest(src, ingest, name, d, where));
  }
  return out;
}

/** `docker save`: manifest.json lists config and layer tars; we write a Docker v2 manifest for it. */
async function planDocker(src: ArchiveSource, ingest: Ingest, nameFlag: string | undefined): Promise<PlannedImage[]> {
  const entries = parseJson<DockerManifestEntry[]>(src.meta('manifest.json')!, 'manifest.json');
  if (!Array.isArray(entries) || entries.length === 0) throw bad('manifest.json', 'names no image');
  const tagged = entries.flatMap((e) => e.RepoTags ?? []);
  if (nameFlag && entries.length > 1) throw bad('--name', `the archive holds ${entries.length} images; --name names only one`);
  const out: PlannedImage[] = [];
  for (const [i, e] of entries.entries()) {
    const where = `manifest.json[${i}]`;
    if (!e.Config || !Array.isArray(e.Layers)) throw bad(where, 'needs Config and Layers');
    const configDigest = await src.blobAt(e.Config, `${where}.Config`);
    const named = /([a-f0-9]{64})(\.json)?$/.exec(e.Config);
    if (named && `sha256:${named[1]}` !== configDigest) throw bad(`${where}.Config`, `digest mismatch: ${e.Config} hashes to ${configDigest}`);
    const configBuf = ingest.read(configDigest);
    const config = parseJson<ImageConfig>(configBuf, `${where}.Config`);
    const layers: ImageLayer[] = [];
    for (const [j, p] of e.Layers.entries()) {
      const digest = await src.blobAt(p, `${where}.Layers[${j}]`);
      // only the magic bytes: a layer can be gigabytes
      const gz = sniff(ingest.head(digest, 2)) === 'gzip';
      layers.push({ digest, mediaType: gz ? MT.dockerLayerGzip : MT.dockerLayer, size: ingest.written.get(digest)?.size ?? 0 });
    }
    const diffIds = checkConfig(config, layers.length, `${where}.Config`);
    layers.forEach((l, j) => {
      if (l.mediaType === MT.dockerLayer && l.digest !== diffIds[j]) {
        throw bad(`${where}.Layers[${j}]`, `digest mismatch: layer ${e.Layers![j]} is ${l.digest}, the config's diff id is ${diffIds[j]}`);
      }
    });
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.dockerManifest,
        config: { mediaType: MT.dockerConfig, digest: configDigest, size: configBuf.length },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    );
    const md = await ingest.write([manifest], sha256(manifest));
    const target: Descriptor = { mediaType: MT.dockerManifest, digest: md.digest, size: manifest.length };
    const names = nameFlag ? [nameFlag] : (e.RepoTags ?? []);
    if (names.length === 0) throw bad(where, `has no RepoTags${tagged.length ? '' : ' (an untagged docker save)'}; pass --name`);
    for (const name of names) {
      out.push({ name, target, manifest: md.digest, config: configDigest, layers, diffIds, blobs: [md.digest, configDigest, ...new Set(layers.map((l) => l.digest))] });
    }
  }
  return out;
}

/** What to import from an archive. OCI index.json wins over Docker's manifest.json (as containerd does). */
export async function planImport(src: ArchiveSource, ingest: Ingest, archive: string, nameFlag?: string): Promise<PlannedImage[]> {
  if (src.meta('index.json')) {
    const layout = src.meta('oci-layout');
    if (layout) {
      const v = parseJson<{ imageLayoutVersion?: string }>(layout, 'oci-layout').imageLayoutVersion;
      if (v !== '1.0.0') throw bad('oci-layout', `unsupported imageLayoutVersion ${JSON.stringify(v)}`);
    }
    return planOci(src, ingest, nameFlag);
  }
  if (src.meta('manifest.json')) return planDocker(src, ingest, nameFlag);
  throw new HutchError('import', `${archive}: not an image archive (no index.json or manifest.json)`, { kind: 'invalid-argument', path: archive });
}
