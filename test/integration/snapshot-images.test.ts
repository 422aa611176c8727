/**
 * Images end to end on the real kernel: import of docker save archives, OCI archives
 * (gzip, zstd, multi-arch index) and OCI layouts, bundles made from them, content
 * shared and collected, and every kind of bad input refused with nothing left behind.
 */
import { execFile, spawn } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as zlib from 'node:zlib';
import { createBundle } from '../../plugins/images/bundle';
import { ImageService } from '../../plugins/images/images';
import { releaseBundleSnapshot } from '../../plugins/images/release';
import type { SnapshotInfo } from '../../plugins/snapshotter/snapshotter';
import { HutchError } from '../../runtime/errors';
import {
  actualTree,
  expectedTree,
  imageConfig,
  layerTar,
  ociLayoutFiles,
  sha256,
  testImage,
  testImageLayers,
  writeDockerArchive,
  writeOciArchive,
  writeOciLayout,
  type ImageSpec,
} from '../fixtures/image-builder';
import { HUTCH_BIN, containerId, isRoot, tempDir } from '../fixtures/env';
import * as tar from 'tar-stream';

const run = promisify(execFile);
const skip = isRoot() ? false : 'needs root (mounts, mknod, trusted xattrs)';

/** The hutch CLI as a child process; rejects on a non-zero exit. */
const hutch = (...args: string[]): Promise<{ stdout: string; stderr: string }> => run(process.execPath, [HUTCH_BIN, ...args]);

async function snapshots(images: ImageService): Promise<SnapshotInfo[]> {
  const out: SnapshotInfo[] = [];
  await images.snapshotter().walk((i) => void out.push(i));
  return out;
}

function blobCount(root: string): number {
  try {
    return fs.readdirSync(path.join(root, 'content/blobs/sha256')).length;
  } catch {
    return 0;
  }
}

function ingestCount(root: string): number {
  try {
    return fs.readdirSync(path.join(root, 'content/ingest')).length;
  } catch {
    return 0;
  }
}

async function rejects(p: Promise<unknown>, kind: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof HutchError, String(e));
    assert.equal(e.kind, kind, e.message);
    assert.match(e.message, re);
    return true;
  });
}

/** Writes a tar of `files` (for hand-made broken archives). */
async function tarOf(file: string, files: [string, Buffer][]): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  for (const [name, body] of files) await new Promise<void>((r, j) => pack.entry({ name }, body, (e) => (e ? j(e) : r())));
  pack.finalize();
  await ended;
  fs.writeFileSync(file, Buffer.concat(chunks));
}

describe('images', { skip }, () => {
  let dir: string;
  let spec: ImageSpec;
  const bundles: string[] = [];

  before(async () => {
    dir = tempDir('snap-images');
    spec = await testImage('hutchtest:latest');
  });

  after(async () => {
    for (const b of bundles) {
      try {
        await releaseBundleSnapshot(JSON.parse(fs.readFileSync(path.join(b, 'config.json'), 'utf8')).annotations);
      } catch {
        /* released by the test */
      }
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const format of ['docker archive', 'OCI archive (plain, gzip, zstd layers; multi-arch index)', 'OCI layout directory'] as const) {
    for (const snapshotter of ['overlayfs', 'native']) {
      it(`imports a ${format} into ${snapshotter} and bundles exactly the merged tree`, async () => {
        const root = path.join(dir, `root-${format.split(' ')[0]}-${format.length}-${snapshotter}`);
        const images = new ImageService({ root, snapshotter });
        const file = path.join(root + '.input');
        const name = format === 'docker archive' ? 'hutchtest:latest' : 'example.com/hutch/oci:1';
        if (format === 'docker archive') await writeDockerArchive(file, spec);
        else if (format.startsWith('OCI archive')) await writeOciArchive(file, { ...spec, name }, ['none', 'gzip', 'zstd'], true);
        else writeOciLayout(file, { ...spec, name }, ['gzip', 'gzip', 'none']);
        const results = await images.import(file);
        assert.deepEqual(results.map((r) => [r.name, r.status]), [[name, 'created']]);
        assert.equal((await snapshots(images)).length, 3, 'one committed snapshot per layer');
        const bdir = path.join(dir, `bundle-${snapshotter}-${format.length}`);
        bundles.push(bdir);
        const b = await createBundle(images, { image: name, dir: bdir });
        const want = expectedTree(testImageLayers());
        const got = actualTree(path.join(bdir, 'rootfs'));
        assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
        for (const [p, node] of want) assert.deepEqual(got.get(p), node, p);
        // writes land in the bundle's snapshot only
        fs.writeFileSync(path.join(bdir, 'rootfs/etc/hello'), 'mine\n');
        const specJson = JSON.parse(fs.readFileSync(path.join(bdir, 'config.json'), 'utf8'));
        assert.equal(specJson.annotations['io.hutch.snapshot'], b.key);
        assert.equal(specJson.annotations['io.hutch.snapshotter'], snapshotter);
        await rejects(images.remove(name), 'failed-precondition', /in use/);
        assert.equal(await releaseBundleSnapshot(specJson.annotations), true);
        assert.deepEqual(fs.readdirSync(path.join(bdir, 'rootfs')), [], 'rootfs unmounted');
        assert.equal((await snapshots(images)).filter((s) => s.kind === 'active').length, 0);
        const again = path.join(dir, `bundle2-${snapshotter}-${format.length}`);
        bundles.push(again);
        await createBundle(images, { image: name, dir: again });
        assert.equal(fs.readFileSync(path.join(again, 'rootfs/etc/hello'), 'utf8'), 'hello from layer 3\n', 'the first bundle\'s write vanished with it');
        await releaseBundleSnapshot(JSON.parse(fs.readFileSync(path.join(again, 'config.json'), 'utf8')).annotations);
        await images.remove(name);
        assert.equal(blobCount(root), 0);
        assert.equal((await snapshots(images)).length, 0);
      });
    }
  }

  it('is idempotent on re-import, moves a name to new content, and keeps shared content until unused', async () => {
    const root = path.join(dir, 'root-share');
    const images = new ImageService({ root });
    const a = path.join(dir, 'a.tar');
    await writeDockerArchive(a, spec);
    assert.equal((await images.import(a))[0].status, 'created');
    const blobs = blobCount(root);
    assert.equal((await images.import(a))[0].status, 'unchanged');
    assert.equal(blobCount(root), blobs);
    // same name, one more layer: the name moves, the shared layers stay
    const extra = await layerTar([{ path: 'extra', type: 'file', content: 'x\n' }]);
    const b = path.join(dir, 'b.tar');
    await writeDockerArchive(b, { ...spec, layers: [...spec.layers, extra] });
    assert.equal((await images.import(b))[0].status, 'updated');
    assert.equal((await images.list()).length, 1);
    assert.equal((await snapshots(images)).length, 4);
    // a second name on the old content shares all of its blobs and snapshots
    await images.import(a, { name: 'other:1' });
    assert.equal((await snapshots(images)).length, 4);
    await images.remove('hutchtest:latest');
    assert.equal((await snapshots(images)).length, 3, 'the layers other:1 uses stay');
    assert.equal(blobCount(root), blobs);
    await images.remove('other:1');
    assert.equal(blobCount(root), 0);
    assert.equal((await snapshots(images)).length, 0);
    await rejects(images.remove('other:1'), 'not-found', /not found/);
  });

  it('makes config.json from the image config: entrypoint + cmd, env, working dir, user from /etc/passwd and /etc/group', async () => {
    const root = path.join(dir, 'root-config');
    const images = new ImageService({ root });
    const cases: [string, Record<string, unknown>, Record<string, unknown>][] = [
      ['user', { User: 'user' }, { uid: 1000, gid: 1000, additionalGids: [100] }],
      ['user:users', { User: 'user:users' }, { uid: 1000, gid: 100 }],
      ['1000', { User: '1000' }, { uid: 1000, gid: 1000, additionalGids: [100] }],
      ['4242', { User: '4242' }, { uid: 4242, gid: 0 }],
      ['4242:7', { User: '4242:7' }, { uid: 4242, gid: 7 }],
      ['nobody', { User: 'nobody' }, { uid: 65534, gid: 65534 }],
    ];
    for (const [i, [label, config, user]] of cases.entries()) {
      const file = path.join(dir, `cfg-${i}.tar`);
      await writeDockerArchive(file, { ...spec, name: `cfg:${i}`, config: { ...config, Entrypoint: ['/bin/echo'], Cmd: ['hi'], Env: ['FOO=bar', 'PATH=/bin'], WorkingDir: '/data' } });
      await images.import(file);
      const bdir = path.join(dir, `cfg-bundle-${i}`);
      bundles.push(bdir);
      const b = await createBundle(images, { image: `cfg:${i}`, dir: bdir });
      assert.deepEqual(b.spec.process!.user, user, label);
      assert.deepEqual(b.spec.process!.args, ['/bin/echo', 'hi']);
      assert.deepEqual(b.spec.process!.env, ['PATH=/bin', 'TERM=xterm', 'FOO=bar']);
      assert.equal(b.spec.process!.cwd, '/data');
      assert.equal(b.spec.root!.readonly, false);
      await releaseBundleSnapshot(b.spec.annotations);
    }
    // args replace Cmd, as docker run IMAGE ARGS
    const bdir = path.join(dir, 'cfg-args');
    bundles.push(bdir);
    const b = await createBundle(images, { image: 'cfg:0', dir: bdir, args: ['a', 'b'] });
    assert.deepEqual(b.spec.process!.args, ['/bin/echo', 'a', 'b']);
    await releaseBundleSnapshot(b.spec.annotations);
    // a user the image does not have
    const file = path.join(dir, 'cfg-bad.tar');
    await writeDockerArchive(file, { ...spec, name: 'cfg:bad', config: { User: 'ghost' } });
    await images.import(file);
    await rejects(createBundle(images, { image: 'cfg:bad', dir: path.join(dir, 'cfg-bad') }), 'invalid-argument', /no user "ghost" in the image's \/etc\/passwd/);
    assert.equal(fs.existsSync(path.join(dir, 'cfg-bad')), false, 'a failed bundle leaves no directory');
    assert.equal((await snapshots(images)).filter((s) => s.kind === 'active').length, 0, 'nor a snapshot');
  });

  describe('bad input: a clear error, and nothing left behind', () => {
    let root: string;
    let images: ImageService;
    before(() => {
      root = path.join(dir, 'root-bad');
      images = new ImageService({ root });
    });
    const nothingLeft = async (): Promise<void> => {
      assert.equal(blobCount(root), 0, 'no blobs');
      assert.equal(ingestCount(root), 0, 'no ingests');
      assert.equal((await snapshots(images)).length, 0, 'no snapshots');
      assert.equal((await images.list()).length, 0, 'no images');
    };

    it('a truncated archive', async () => {
      const good = path.join(dir, 'good.tar');
      await writeDockerArchive(good, spec);
      const cut = path.join(dir, 'truncated.tar');
      fs.writeFileSync(cut, fs.readFileSync(good).subarray(0, 1_000_000));
      await rejects(images.import(cut), 'invalid-argument', /truncated or corrupt archive/);
      await nothingLeft();
    });

    it('a corrupt (gzip) archive', async () => {
      const gz = zlib.gzipSync(fs.readFileSync(path.join(dir, 'good.tar')));
      gz.fill(0x55, 5000, 6000);
      const bad = path.join(dir, 'corrupt.tar.gz');
      fs.writeFileSync(bad, gz);
      await rejects(images.import(bad), 'invalid-argument', /truncated or corrupt archive/);
      await nothingLeft();
    });

    it('a blob whose content does not match its digest', async () => {
      const files = ociLayoutFiles({ ...spec, name: 'x:1' });
      const i = files.findIndex(([n, b]) => n.startsWith('blobs/') && b.length > 100_000);
      files[i] = [files[i][0], Buffer.concat([files[i][1].subarray(0, -1), Buffer.from('!')])];
      const bad = path.join(dir, 'digest.tar');
      await tarOf(bad, files);
      await rejects(images.import(bad), 'invalid-argument', /digest mismatch: content is sha256:[0-9a-f]{64}, expected sha256:/);
      await nothingLeft();
    });

    it('a layer whose uncompressed content does not match its diff id', async () => {
      const wrong: ImageSpec = { ...spec, name: 'x:2' };
      const files = ociLayoutFiles(wrong, ['gzip', 'gzip', 'gzip']);
      // rewrite the config with a wrong diff id for layer 2, fixing up manifest and index digests
      const cfg = JSON.parse(imageConfig(wrong).toString());
      cfg.rootfs.diff_ids[1] = sha256('something else');
      const cfgBuf = Buffer.from(JSON.stringify(cfg));
      const oldCfg = sha256(imageConfig(wrong));
      const manifestEntry = files.find(([, b]) => b.toString().includes(oldCfg) && b.toString().includes('"layers"'))!;
      const manifest = Buffer.from(manifestEntry[1].toString().replace(oldCfg, sha256(cfgBuf)).replace(`"size":${imageConfig(wrong).length}`, `"size":${cfgBuf.length}`));
      const out = files
        .filter(([n]) => n !== manifestEntry[0] && n !== `blobs/sha256/${oldCfg.slice(7)}` && n !== 'index.json')
        .concat([
          [`blobs/sha256/${sha256(cfgBuf).slice(7)}`, cfgBuf],
          [`blobs/sha256/${sha256(manifest).slice(7)}`, manifest],
          ['index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, annotations: { 'io.containerd.image.name': 'x:2' } }] }))],
        ]);
      const bad = path.join(dir, 'diffid.tar');
      await tarOf(bad, out);
      await rejects(images.import(bad), 'invalid-argument', /layer 1 .*diff id mismatch/);
      await nothingLeft();
    });

    it('a layer with a path that climbs out of its root', async () => {
      const evil = await layerTar([{ path: '../../escaped-by-hutch-test', type: 'file', content: 'x' }]);
      const bad = path.join(dir, 'escape.tar');
      await writeDockerArchive(bad, { ...spec, name: 'x:3', layers: [spec.layers[0], evil] });
      await rejects(images.import(bad), 'invalid-argument', /escapes the layer root/);
      await nothingLeft();
    });

    it('a layer that writes through an absolute symlink', async () => {
      const target = path.join(dir, 'outside');
      fs.mkdirSync(target);
      const evil = await layerTar([
        { path: 'evil', type: 'symlink', target },
        { path: 'evil/pwned', type: 'file', content: 'x' },
      ]);
      const bad = path.join(dir, 'symlink.tar');
      await writeDockerArchive(bad, { ...spec, name: 'x:4', layers: [spec.layers[0], evil] });
      await rejects(images.import(bad), 'invalid-argument', /parent "evil" is a symlink .*refusing to follow it/);
      assert.deepEqual(fs.readdirSync(target), [], 'nothing written outside');
      // the same through a symlink from a lower layer
      const lowerLink = await layerTar([{ path: 'evil2', type: 'symlink', target }]);
      const through = await layerTar([{ path: 'evil2/pwned', type: 'file', content: 'x' }]);
      await writeDockerArchive(bad, { ...spec, name: 'x:5', layers: [spec.layers[0], lowerLink, through] });
      await rejects(images.import(bad), 'invalid-argument', /parent "evil2" is a symlink/);
      assert.deepEqual(fs.readdirSync(target), []);
      await nothingLeft();
    });

    it('an unknown layer media type', async () => {
      const files = ociLayoutFiles({ ...spec, name: 'x:6' }).map(([n, b]): [string, Buffer] => [n, b]);
      const m = files.find(([, b]) => b.toString().includes('"application/vnd.oci.image.manifest.v1+json","config"'))!;
      const manifest = Buffer.from(m[1].toString().replace('application/vnd.oci.image.layer.v1.tar"', 'application/vnd.example.squashfs"'));
      const out = files
        .filter(([n]) => n !== m[0] && n !== 'index.json')
        .concat([
          [`blobs/sha256/${sha256(manifest).slice(7)}`, manifest],
          ['index.json', Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, annotations: { 'io.containerd.image.name': 'x:6' } }] }))],
        ]);
      const bad = path.join(dir, 'mediatype.tar');
      await tarOf(bad, out);
      await rejects(images.import(bad), 'invalid-argument', /unknown layer media type "application\/vnd.example.squashfs"/);
      await nothingLeft();
    });

    it('an archive that is no image, and one that names none', async () => {
      const junk = path.join(dir, 'junk.tar');
      await tarOf(junk, [['hello.txt', Buffer.from('hi')]]);
      await rejects(images.import(junk), 'invalid-argument', /not an image archive/);
      const files = ociLayoutFiles({ ...spec, name: 'x:7' });
      const idx = JSON.parse(files.find(([n]) => n === 'index.json')![1].toString());
      delete idx.manifests[0].annotations;
      const unnamed = path.join(dir, 'unnamed.tar');
      await tarOf(unnamed, files.map(([n, b]): [string, Buffer] => [n, n === 'index.json' ? Buffer.from(JSON.stringify(idx)) : b]));
      await rejects(images.import(unnamed), 'invalid-argument', /no image name .*pass --name/);
      await nothingLeft();
      assert.equal((await images.import(unnamed, { name: 'named:1' }))[0].name, 'named:1');
      await images.remove('named:1');
      await nothingLeft();
    });

    it('an import killed half way leaves nothing once the next command runs', async () => {
      const fifo = path.join(dir, 'import.fifo');
      await run('mkfifo', [fifo]);
      const child = spawn(process.execPath, [HUTCH_BIN, 'image', 'import', '--image-root', root, fifo], { stdio: 'ignore' });
      const exited = new Promise((r) => child.on('exit', r));
      const w = fs.createWriteStream(fifo);
      const half = fs.readFileSync(path.join(dir, 'good.tar')).subarray(0, 1_500_000);
      await new Promise<void>((r) => w.write(half, () => r()));
      // the importer has an ingest dir with part of the archive in it (bounded wait)
      for (let i = 0; i < 200 && ingestCount(root) === 0; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(ingestCount(root), 1);
      child.kill('SIGKILL');
      await exited;
      w.destroy();
      assert.equal(ingestCount(root), 1, 'the dead import left its ingest');
      await images.gc();
      await nothingLeft();
    });
  });

  it('runs a busybox container from an imported image: it sees the merged tree, as the image user; its writes vanish', async () => {
    const root = path.join(dir, 'root-run');
    const state = path.join(dir, 'run-state');
    const file = path.join(dir, 'run.tar');
    await writeDockerArchive(file, { ...spec, config: { User: 'user', WorkingDir: '/home/user', Env: ['GREETING=hi'] } });
    await hutch('image', 'import', '--image-root', root, file);
    const script = [
      'id -u; id -g; id -G; pwd; echo $GREETING',
      'cat /etc/hello /opt/old/new',
      'ls /opt/old; test -e /etc/deleteme || echo deleteme-gone',
      // /data is 0750 root:root in layer 2: the image user may not look in
      'cat /data/link1 2>/dev/null || echo data-is-private',
      'ls -l /bin/busybox | cut -c1-10',
      'echo mine > /home/user/written; cat /home/user/written',
    ].join('; ');
    const expected = '1000\n1000\n1000 100\n/home/user\nhi\nhello from layer 3\nreplaced\nnew\ndeleteme-gone\ndata-is-private\n-rwxr-xr-x\nmine\n';
    for (const round of [1, 2]) {
      const bdir = path.join(dir, `run-bundle-${round}`);
      bundles.push(bdir);
      await hutch('bundle', '--image-root', root, 'hutchtest:latest', bdir, '--', 'sh', '-c', `test -e /home/user/written && echo leftover; ${script}`);
      try {
        const { stdout } = await hutch('--root', state, 'run', '-b', bdir, containerId(`snap-run${round}`));
        assert.equal(stdout, expected, `round ${round}: a second container does not see the first one's write`);
        const mounted = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path.join(bdir, 'rootfs'));
        assert.equal(mounted, false, `round ${round}: the container's delete released its rootfs snapshot`);
      } finally {
        await hutch('--root', state, 'delete', '--force', containerId(`snap-run${round}`)).catch(() => undefined);
        await hutch('bundle', '--release', bdir);
      }
    }
  });

  it('works from the command line', async () => {
    const root = path.join(dir, 'root-cli');
    const file = path.join(dir, 'cli.tar');
    await writeDockerArchive(file, spec);
    const imp = await hutch('image', 'import', '--image-root', root, file);
    assert.match(imp.stdout, /^hutchtest:latest\tsha256:[0-9a-f]{64}\tcreated\n$/);
    assert.equal(imp.stderr, '', 'no progress bar when stderr is not a terminal');
    assert.match((await hutch('image', 'import', '--image-root', root, file)).stdout, /\tunchanged\n$/);
    assert.equal((await hutch('image', 'ls', '-q', '--image-root', root)).stdout, 'hutchtest:latest\n');
    assert.match((await hutch('image', 'ls', '--image-root', root)).stdout, /^NAME +DIGEST +SIZE +UNPACKED +CREATED\nhutchtest:latest +sha256:/);
    const inspected = JSON.parse((await hutch('image', 'inspect', '--image-root', root, 'hutchtest:latest')).stdout);
    assert.equal(inspected.image.layers.length, 3);
    assert.deepEqual(inspected.config.config.Cmd, ['sh']);
    const bdir = path.join(dir, 'cli-bundle');
    bundles.push(bdir);
    assert.equal((await hutch('bundle', '--image-root', root, 'hutchtest:latest', bdir, '--', 'echo', '-n', 'hi')).stdout, `${bdir}\n`);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(bdir, 'config.json'), 'utf8')).process.args, ['echo', '-n', 'hi']);
    await assert.rejects(hutch('image', 'rm', '--image-root', root, 'hutchtest:latest'), (e: { stderr: string }) => {
      assert.match(e.stderr, /image rm: image \\?"hutchtest:latest\\?" is in use by 1 container snapshot/);
      return true;
    });
    await hutch('bundle', '--release', bdir);
    assert.equal((await hutch('image', 'rm', '--image-root', root, 'hutchtest:latest')).stdout, 'hutchtest:latest\n');
    await assert.rejects(hutch('image', 'inspect', '--image-root', root, 'hutchtest:latest'), /image \\?"hutchtest:latest\\?" not found/);
    await assert.rejects(hutch('image', 'frobnicate'), /unknown command \\?"image frobnicate\\?"/);
    assert.equal(blobCount(root), 0);
  });
});
