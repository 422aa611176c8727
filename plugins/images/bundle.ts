/**
 * Makes an OCI bundle from an image: a new active snapshot on the image's top layer,
 * mounted at `<dir>/rootfs`, and `<dir>/config.json` — runc's default spec with the
 * image config's entrypoint + cmd, env, working dir and user (resolved against the
 * image's /etc/passwd and /etc/group). The snapshot is recorded in the spec's
 * annotations; `releaseBundleSnapshot` (./release) undoes it at `delete`.
 *
 * Example:
 *   const images = new ImageService();
 *   const { key } = await createBundle(images, { image: 'busybox:latest', dir: '/run/b1' });
 *   // hutch run -b /run/b1 c1; hutch delete c1 → releaseBundleSnapshot(annotations)
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import { UndoStack } from '../../runtime/lifecycle/undo';
import type { Spec } from '../../runtime/spec/types';
import { mountAll, unmountAll } from '../snapshotter/mount';
import { defaultSpec, DEFAULT_PATH } from '../../runtime/spec/default-spec';
import { resolveImageUser } from './image-user';
import { IMAGE_LABEL, type ImageService } from './images';
import { BUNDLE_ANNOTATIONS } from './release';

export interface BundleOptions {
  image: string;
  dir: string;
  /** default: the service's snapshotter */
  snapshotter?: string;
  /** replaces the image's Cmd (as `docker run IMAGE ARGS…`) */
  args?: string[];
}

export interface BundleResult {
  dir: string;
  snapshotter: string;
  key: string;
  spec: Spec;
}

interface ImageConfigDoc {
  config?: { Entrypoint?: string[] | null; Cmd?: string[] | null; Env?: string[] | null; WorkingDir?: string; User?: string };
}

/** Image env over the defaults, as containerd's WithImageConfig: same name replaces. */
function mergeEnv(defaults: string[], image: string[]): string[] {
  const out = [...defaults];
  for (const kv of image) {
    const k = kv.split('=', 1)[0];
    const i = out.findIndex((e) => e.split('=', 1)[0] === k);
    if (i >= 0) out[i] = kv;
    else out.push(kv);
  }
  if (!out.some((e) => e.startsWith('PATH='))) out.unshift(DEFAULT_PATH);
  return out;
}

export function specFromImage(config: ImageConfigDoc, rootfs: string, args?: string[]): Spec {
  const c = config.config ?? {};
  const spec = defaultSpec({ terminal: false });
  const argv = [...(c.Entrypoint ?? []), ...(args ?? c.Cmd ?? [])];
  if (argv.length === 0) throw new HutchError('bundle', 'the image has no Entrypoint or Cmd: give a command', { kind: 'invalid-argument', field: 'config.Cmd' });
  spec.process!.args = argv;
  spec.process!.env = mergeEnv(spec.process!.env ?? [], c.Env ?? []);
  spec.process!.cwd = c.WorkingDir || '/';
  spec.process!.user = resolveImageUser(rootfs, c.User);
  // the container writes into its own snapshot layer, as under containerd
  spec.root = { path: 'rootfs', readonly: false };
  return spec;
}

export async function createBundle(images: ImageService, options: BundleOptions): Promise<BundleResult> {
  const dir = path.resolve(options.dir);
  const snName = options.snapshotter ?? images.defaultSnapshotter;
  const image = await images.get(options.image);
  if (!image.unpacked.includes(snName)) await images.unpack(options.image, snName);
  const config = images.content.readJson<ImageConfigDoc>(image.config);
  const configPath = path.join(dir, 'config.json');
  if (fs.existsSync(configPath)) throw new HutchError('bundle', `${configPath} already exists`, { kind: 'already-exists', path: configPath });
  const madeDir = !fs.existsSync(dir);
  const rootfs = path.join(dir, 'rootfs');
  const madeRootfs = !fs.existsSync(rootfs);
  const sn = images.snapshotter(snName);
  const key = `bundle-${crypto.randomBytes(8).toString('hex')}`;
  const undo = new UndoStack();
  try {
    fs.mkdirSync(rootfs, { recursive: true, mode: 0o755 });
    if (madeDir) undo.push('remove bundle dir', () => fs.rmSync(dir, { recursive: true, force: true }));
    else if (madeRootfs) undo.push('remove rootfs dir', () => fs.rmdirSync(rootfs));
    const mounts = await sn.prepare(key, image.chainIds[image.chainIds.length - 1] ?? '', { labels: { [IMAGE_LABEL]: options.image } });
    undo.push('remove snapshot', () => sn.remove(key));
    mountAll(mounts, rootfs);
    undo.push('unmount rootfs', () => unmountAll(rootfs));
    const spec = specFromImage(config, rootfs, options.args);
    spec.annotations = {
      [BUNDLE_ANNOTATIONS.snapshotter]: snName,
      [BUNDLE_ANNOTATIONS.snapshot]: key,
      [BUNDLE_ANNOTATIONS.snapshotRoot]: sn.root,
      [BUNDLE_ANNOTATIONS.rootfs]: rootfs,
      [BUNDLE_ANNOTATIONS.image]: options.image,
    };
    const tmp = `${configPath}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(spec, null, 2));
    fs.renameSync(tmp, configPath);
    return { dir, snapshotter: snName, key, spec };
  } catch (e) {
    // best effort: the original error is what the caller needs to see
    await undo.run(() => undefined);
    throw e;
  }
}
