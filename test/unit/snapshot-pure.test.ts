/** The snapshotter and image code that needs no kernel: filters, path cleaning, mount options, chain ids, users. */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveImageUser } from '../../plugins/images/image-user';
import { resolveInRoot } from '../../plugins/images/in-root';
import { cleanName } from '../../plugins/images/layer-apply';
import { chainIds, layerCompression } from '../../plugins/images/media-types';
import { parseFilters } from '../../plugins/snapshotter/filters';
import { compactOverlayData, parseOptions } from '../../plugins/snapshotter/mount';
import { HutchError } from '../../runtime/errors';
import { tempDir } from '../fixtures/env';

const info: Record<string, string> = { name: 'default/3/sha256:abc', parent: 'p', kind: 'committed' };
const labels: Record<string, string> = { 'containerd.io/snapshot.ref': 'sha256:abc', app: 'web-1' };
const lookup = (p: string[]): string | undefined => (p[0] === 'labels' ? labels[p.slice(1).join('.')] : p.length === 1 ? info[p[0]] : undefined);

describe('containerd filters', () => {
  const t = (...f: string[]): boolean => parseFilters(f)(lookup);
  it('matches ==, !=, ~= and presence, AND within a string, OR across strings', () => {
    assert.equal(t(), true);
    assert.equal(t('kind==committed'), true);
    assert.equal(t('kind==active'), false);
    assert.equal(t('kind!=active'), true);
    assert.equal(t('labels.app~=^web-\\d$'), true);
    assert.equal(t('labels.app'), true);
    assert.equal(t('labels.nope'), false);
    assert.equal(t('labels.nope!=x'), true);
    assert.equal(t('labels."containerd.io/snapshot.ref"==sha256:abc,parent==p'), true);
    assert.equal(t('labels."containerd.io/snapshot.ref"==sha256:abc,parent==q'), false);
    assert.equal(t('kind==view', 'name=="default/3/sha256:abc"'), true);
    assert.equal(t('name==/default\\/3\\/sha256:abc/'), true, 'regex-style quoting');
  });
  it('refuses malformed filters with invalid-argument', () => {
    for (const bad of ['"open', 'a==b,,', 'x~=(', 'kind=committed']) {
      assert.throws(() => parseFilters([bad]), (e: unknown) => e instanceof HutchError && e.kind === 'invalid-argument', bad);
    }
  });
});

describe('layer entry names', () => {
  it('normalises names and refuses climbing out', () => {
    assert.equal(cleanName('./a/b/', 'l'), 'a/b');
    assert.equal(cleanName('/abs/path', 'l'), 'abs/path');
    assert.equal(cleanName('a/../b', 'l'), 'b');
    assert.equal(cleanName('./', 'l'), '');
    for (const bad of ['../x', 'a/../../x', '..']) assert.throws(() => cleanName(bad, 'layer 1'), /layer 1: entry ".*" escapes the layer root/);
  });
  it('knows the layer media types and refuses others', () => {
    assert.equal(layerCompression('application/vnd.docker.image.rootfs.diff.tar.gzip', 'x'), 'gzip');
    assert.equal(layerCompression('application/vnd.oci.image.layer.v1.tar+zstd', 'x'), 'zstd');
    assert.throws(() => layerCompression('application/x-foo', 'manifest.layers[2]'), /manifest.layers\[2\]: unknown layer media type "application\/x-foo"/);
  });
});

describe('chain ids', () => {
  it("follow containerd's identity.ChainID", () => {
    const d = ['sha256:' + 'a'.repeat(64), 'sha256:' + 'b'.repeat(64), 'sha256:' + 'c'.repeat(64)];
    const c = chainIds(d);
    const h = (s: string): string => `sha256:${crypto.createHash('sha256').update(s).digest('hex')}`;
    assert.equal(c[0], d[0]);
    assert.equal(c[1], h(`${d[0]} ${d[1]}`));
    assert.equal(c[2], h(`${c[1]} ${d[2]}`));
  });
});

describe('mount options', () => {
  it('splits flags from data like containerd', () => {
    assert.deepEqual(parseOptions(['ro', 'rbind']), { flags: 0x1 | 0x1000 | 0x4000, data: [] });
    assert.deepEqual(parseOptions(['rw', 'index=off', 'nosuid']), { flags: 0x2, data: ['index=off'] });
  });
  it('makes overlay paths relative to their common directory', () => {
    const c = compactOverlayData(['index=off', 'workdir=/v/s/snapshots/9/work', 'upperdir=/v/s/snapshots/9/fs', 'lowerdir=/v/s/snapshots/8/fs:/v/s/snapshots/1/fs']);
    assert.deepEqual(c, { dir: '/v/s/snapshots', data: ['index=off', 'workdir=9/work', 'upperdir=9/fs', 'lowerdir=8/fs:1/fs'] });
    assert.equal(compactOverlayData(['lowerdir=/a/x:/b/y']), undefined, 'nothing in common but /');
  });
});

describe('image users and paths inside a root', () => {
  const root = tempDir('snap-unit-root');
  fs.mkdirSync(path.join(root, 'etc'));
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\napp:x:500:501::/app:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\napp:x:501:\nwheel:x:10:app\nstaff:x:50:other,app\n');
  fs.symlinkSync('/etc/passwd', path.join(root, 'abs-link'));
  fs.symlinkSync('../../../../etc', path.join(root, 'climb'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('resolves symlinks without leaving the root', () => {
    assert.equal(resolveInRoot(root, '/abs-link'), path.join(root, 'etc/passwd'));
    assert.equal(resolveInRoot(root, '/climb/passwd'), path.join(root, 'etc/passwd'));
    assert.equal(resolveInRoot(root, '/missing/file'), null);
  });
  it('resolves names, numbers and groups as containerd does', () => {
    assert.deepEqual(resolveImageUser(root, ''), { uid: 0, gid: 0 });
    assert.deepEqual(resolveImageUser(root, 'app'), { uid: 500, gid: 501, additionalGids: [10, 50] });
    assert.deepEqual(resolveImageUser(root, 'app:wheel'), { uid: 500, gid: 10 });
    assert.deepEqual(resolveImageUser(root, '500:3'), { uid: 500, gid: 3 });
    assert.deepEqual(resolveImageUser(root, '77'), { uid: 77, gid: 0 });
    assert.throws(() => resolveImageUser(root, 'ghost'), /no user "ghost"/);
    assert.throws(() => resolveImageUser(root, 'app:ghosts'), /no group "ghosts"/);
  });
});
