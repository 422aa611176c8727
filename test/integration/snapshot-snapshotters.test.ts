/**
 * The overlayfs and native snapshotters on the real kernel: containerd's semantics,
 * metadata shared between processes, layers applied and stacked into exactly the
 * tree the layers describe, writes landing in the active layer only.
 */
import { execFile } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { native } from '../../addon';
import { applyLayer } from '../../plugins/images/layer-apply';
import { chainIds } from '../../plugins/images/media-types';
import { mountAll, unmountAll } from '../../plugins/snapshotter/mount';
import { openSnapshotter } from '../../plugins/snapshotter/registry';
import type { SnapshotInfo, Snapshotter } from '../../plugins/snapshotter/snapshotter';
import { HutchError } from '../../runtime/errors';
import { actualTree, expectedTree, layerTar, sha256, testImageLayers } from '../fixtures/image-builder';
import { isRoot, tempDir } from '../fixtures/env';

const run = promisify(execFile);
const skip = isRoot() ? false : 'needs root (mounts, mknod, trusted xattrs)';

function kindOf(e: unknown): string | undefined {
  return e instanceof HutchError ? e.kind : undefined;
}

async function rejectsKind(p: Promise<unknown>, kind: string, re?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.equal(kindOf(e), kind, String(e));
    if (re) assert.match((e as Error).message, re);
    return true;
  });
}

/** Unpacks the test layers; returns the chain ids. */
async function unpack(sn: Snapshotter, layers: Buffer[]): Promise<string[]> {
  const chain = chainIds(layers.map((l) => sha256(l)));
  for (let i = 0; i < layers.length; i++) {
    const key = `extract-${i}`;
    const mounts = await sn.prepare(key, i ? chain[i - 1] : '');
    await applyLayer([layers[i]], mounts, { diffId: sha256(layers[i]) });
    await sn.commit(chain[i], key);
  }
  return chain;
}

for (const name of ['overlayfs', 'native']) {
  describe(`snapshotter ${name}`, { skip }, () => {
    let root: string;
    let sn: Snapshotter;
    let layers: Buffer[];
    let chain: string[];
    const mounted: string[] = [];

    before(async () => {
      root = tempDir(`snap-${name}`);
      sn = openSnapshotter(name, path.join(root, 'state'));
      layers = await Promise.all(testImageLayers().map(layerTar));
      chain = await unpack(sn, layers);
    });

    after(() => {
      for (const m of mounted) unmountAll(m);
      fs.rmSync(root, { recursive: true, force: true });
    });

    it('stacks the layers into exactly the tree they describe', async () => {
      const target = path.join(root, 'view');
      fs.mkdirSync(target);
      await sn.view('view-top', chain[2]);
      mountAll(await sn.mounts('view-top'), target);
      mounted.push(target);
      try {
        const want = expectedTree(testImageLayers());
        const got = actualTree(target);
        assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort());
        for (const [p, node] of want) assert.deepEqual(got.get(p), node, p);
        // the details a tree listing cannot show
        assert.equal(fs.readFileSync(path.join(target, 'data/link1'), 'utf8'), 'hello from layer 2\n');
        assert.deepEqual(fs.readdirSync(path.join(target, 'opt/old')), ['new']);
        assert.equal(fs.existsSync(path.join(target, 'etc/deleteme')), false);
        assert.equal(fs.lstatSync(path.join(target, 'bin/busybox')).mtime.toISOString(), '2023-04-05T06:07:08.000Z');
        assert.equal(native().lgetxattr(path.join(target, 'data/link1'), 'user.hutch')?.toString(), 'hello');
        assert.equal(native().lgetxattr(path.join(target, 'data/file1'), 'user.hutch'), null, 'layer 3 rewrote file1 without xattrs');
        // a read-only view refuses writes
        assert.throws(() => fs.writeFileSync(path.join(target, 'x'), 'x'), /EROFS/);
      } finally {
        unmountAll(target);
        mounted.pop();
        await sn.remove('view-top');
      }
    });

    if (name === 'overlayfs') {
      it('writes whiteouts as 0/0 character devices and opaque dirs with trusted.overlay.opaque', async () => {
        const info2 = await sn.stat(chain[1]);
        assert.equal(info2.kind, 'committed');
        const layer2 = path.join(root, 'state/snapshots/2/fs');
        const wh = fs.lstatSync(path.join(layer2, 'etc/deleteme'));
        assert.ok(wh.isCharacterDevice());
        assert.equal(wh.rdev, 0);
        assert.equal(native().lgetxattr(path.join(layer2, 'opt/old'), 'trusted.overlay.opaque')?.toString(), 'y');
        assert.equal(native().lgetxattr(path.join(layer2, 'data'), 'trusted.overlay.opaque'), null);
        // layer 3 only holds what it changed (plus copied-up parents)
        assert.deepEqual(fs.readdirSync(path.join(root, 'state/snapshots/3/fs')).sort(), ['data', 'etc']);
      });

      it('keeps deep lowerdir lists under the mount data limit (relative paths from the snapshots dir)', async () => {
        // 60 layers: absolute lowerdirs would be ~60 × 70 bytes, over one page
        let parent = chain[2];
        const keys: string[] = [];
        for (let i = 0; i < 60; i++) {
          const key = `deep-${i}`;
          const m = await sn.prepare(key, parent);
          await applyLayer([await layerTar([{ path: `deep${i}`, type: 'file', content: `${i}\n` }])], m);
          await sn.commit(`deep-c-${i}`, key);
          parent = `deep-c-${i}`;
          keys.push(parent);
        }
        const mounts = await sn.prepare('deep-top', parent);
        assert.ok(mounts[0].options.join(',').length > 4096);
        const target = path.join(root, 'deep');
        fs.mkdirSync(target);
        mountAll(mounts, target);
        try {
          assert.equal(fs.readFileSync(path.join(target, 'deep59'), 'utf8'), '59\n');
          assert.equal(fs.readFileSync(path.join(target, 'deep0'), 'utf8'), '0\n');
          assert.ok(fs.existsSync(path.join(target, 'bin/busybox')));
        } finally {
          unmountAll(target);
        }
        await sn.remove('deep-top');
        for (const k of keys.reverse()) await sn.remove(k);
      });
    }

    it('keeps hard links as one inode', async () => {
      const target = path.join(root, 'view2');
      fs.mkdirSync(target);
      mountAll(await sn.view('view-2', chain[1]), target);
      try {
        const a = fs.statSync(path.join(target, 'data/file1'));
        const b = fs.statSync(path.join(target, 'data/link1'));
        assert.equal(a.ino, b.ino);
        assert.equal(a.nlink, 2);
      } finally {
        unmountAll(target);
        await sn.remove('view-2');
      }
    });

    it('sends writes to the active layer only, and they vanish with the snapshot', async () => {
      const target = path.join(root, 'rw');
      fs.mkdirSync(target, { recursive: true });
      const mounts = await sn.prepare('rw', chain[2]);
      mountAll(mounts, target);
      try {
        fs.writeFileSync(path.join(target, 'etc/hello'), 'changed\n');
        fs.writeFileSync(path.join(target, 'new-file'), 'new\n');
        fs.rmSync(path.join(target, 'opt/old/new'));
        assert.equal(fs.readFileSync(path.join(target, 'etc/hello'), 'utf8'), 'changed\n');
      } finally {
        unmountAll(target);
      }
      // the committed layers are untouched
      await sn.view('check', chain[2]);
      const check = path.join(root, 'check');
      fs.mkdirSync(check);
      mountAll(await sn.mounts('check'), check);
      try {
        assert.equal(fs.readFileSync(path.join(check, 'etc/hello'), 'utf8'), 'hello from layer 3\n');
        assert.equal(fs.existsSync(path.join(check, 'new-file')), false);
        assert.equal(fs.readFileSync(path.join(check, 'opt/old/new'), 'utf8'), 'replaced\n');
      } finally {
        unmountAll(check);
        await sn.remove('check');
      }
      const usage = await sn.usage('rw');
      assert.ok(usage.inodes >= 2 && usage.size > 0, JSON.stringify(usage));
      const dir = (await sn.mounts('rw'))[0];
      await sn.remove('rw');
      const src = dir.type === 'bind' ? dir.source : dir.options.find((o) => o.startsWith('upperdir='))!.slice(9);
      assert.equal(fs.existsSync(src), false);
    });

    it('follows containerd rules: kinds, parents, commit, remove with children, update, walk', async () => {
      await rejectsKind(sn.prepare('x', 'no-such-parent'), 'not-found', /no-such-parent/);
      await sn.prepare('a1', chain[0]);
      await rejectsKind(sn.prepare('a1', chain[0]), 'already-exists');
      await rejectsKind(sn.prepare('a2', 'a1'), 'invalid-argument', /not a committed/);
      await rejectsKind(sn.commit('c1', 'no-such-key'), 'not-found');
      await sn.commit('c1', 'a1', { labels: { 'containerd.io/snapshot/x': 'y' } });
      await rejectsKind(sn.stat('a1'), 'not-found');
      await rejectsKind(sn.mounts('c1'), 'failed-precondition');
      await sn.view('v1', 'c1');
      await rejectsKind(sn.commit('c2', 'v1'), 'failed-precondition', /view, not active/);
      await rejectsKind(sn.remove('c1'), 'failed-precondition', /child/);
      await rejectsKind(sn.remove(chain[0]), 'failed-precondition');
      // labels
      let info = await sn.update({ name: 'c1', labels: { a: '1', b: '2' } }, ['labels.a']);
      assert.deepEqual(info.labels, { 'containerd.io/snapshot/x': 'y', a: '1' });
      info = await sn.update({ name: 'c1', labels: {} }, ['labels.a']);
      assert.deepEqual(info.labels, { 'containerd.io/snapshot/x': 'y' });
      info = await sn.update({ name: 'c1', labels: { z: '9' } });
      assert.deepEqual(info.labels, { z: '9' });
      await rejectsKind(sn.update({ name: 'c1', labels: {} }, ['parent']), 'invalid-argument', /cannot update "parent"/);
      // walk with filters
      const names = async (...f: string[]): Promise<string[]> => {
        const out: SnapshotInfo[] = [];
        await sn.walk((i) => void out.push(i), ...f);
        return out.map((i) => i.name).sort();
      };
      assert.deepEqual(await names('kind==view'), ['v1']);
      assert.deepEqual(await names('parent==c1'), ['v1']);
      assert.deepEqual(await names('labels.z==9'), ['c1']);
      assert.deepEqual(await names('labels."z"~=^9$,kind==committed'), ['c1']);
      assert.deepEqual(await names('kind==view', 'labels.z'), ['c1', 'v1']);
      assert.deepEqual((await names()).length, chain.length + 2);
      const usage = await sn.usage(chain[0]);
      assert.ok(usage.size > 1_000_000, `busybox layer is ${usage.size} bytes`);
      await sn.remove('v1');
      await sn.remove('c1');
      await rejectsKind(sn.stat('c1'), 'not-found');
    });

    it('keeps its metadata across instances and serialises concurrent processes', async () => {
      const again = openSnapshotter(name, path.join(root, 'state'));
      assert.equal((await again.stat(chain[2])).kind, 'committed');
      // 8 processes preparing 5 snapshots each at the same time on the same parent
      const script = `
        const { openSnapshotter } = require(${JSON.stringify(path.resolve(__dirname, '../../plugins/snapshotter/registry'))});
        const sn = openSnapshotter(${JSON.stringify(name)}, ${JSON.stringify(path.join(root, 'state'))});
        (async () => { for (let i = 0; i < 5; i++) await sn.prepare('p' + process.argv[1] + '-' + i, ${JSON.stringify(chain[2])}); })()
          .catch((e) => { console.error(e); process.exit(1); });`;
      await Promise.all(Array.from({ length: 8 }, (_, i) => run(process.execPath, ['-e', script, String(i)])));
      const actives: SnapshotInfo[] = [];
      await again.walk((i) => void actives.push(i), 'kind==active');
      assert.equal(actives.length, 40);
      const ids = new Set<string>();
      for (const a of actives) {
        const m = await again.mounts(a.name);
        ids.add(JSON.stringify(m));
        await again.remove(a.name);
      }
      assert.equal(ids.size, 40, 'every snapshot got its own directory');
    });

    it('cleans up directories no snapshot owns', async () => {
      const stray = path.join(root, 'state/snapshots/999');
      fs.mkdirSync(path.join(stray, 'fs'), { recursive: true });
      await sn.cleanup();
      assert.equal(fs.existsSync(stray), false);
      assert.equal((await sn.stat(chain[2])).kind, 'committed');
    });
  });
}
