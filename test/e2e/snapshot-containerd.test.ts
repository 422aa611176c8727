/**
 * The proxy snapshotter under a real containerd 1.6 that this test starts itself (own
 * root, state, sockets; CRI disabled; a proxy_plugins entry for our socket): ctr
 * imports and unpacks into it, runs a container on it with the stock runc shim, uses
 * the snapshot API (stat, usage, labels, list), and containerd's GC removes every
 * snapshot from our store once the image is gone.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openSnapshotter } from '../../plugins/snapshotter/registry';
import type { SnapshotInfo } from '../../plugins/snapshotter/snapshotter';
import { testImage, writeDockerArchive } from '../fixtures/image-builder';
import { HUTCH_BIN, RUN_ID, isRoot, tempDir } from '../fixtures/env';
import { eventually } from '../fixtures/shim';

const run = promisify(execFile);

function have(bin: string): boolean {
  return ['/usr/bin', '/usr/sbin', '/usr/local/bin'].some((d) => fs.existsSync(path.join(d, bin)));
}

const skip = !isRoot() ? 'needs root' : !have('containerd') || !have('ctr') ? 'needs containerd and ctr' : false;

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

describe('proxy snapshotter under containerd', { skip }, () => {
  let dir: string;
  let containerd: ChildProcess | undefined;
  let server: ChildProcess | undefined;
  let sock: string;
  const ns = `hutch-${RUN_ID}`;
  const image = `docker.io/library/hutchtest:${RUN_ID}`;
  let snapRoot: string;
  const ctr = (...args: string[]): Promise<{ stdout: string; stderr: string }> => run('ctr', ['-a', sock, '-n', ns, ...args]);
  const ours = async (): Promise<SnapshotInfo[]> => {
    const out: SnapshotInfo[] = [];
    await openSnapshotter('overlayfs', snapRoot).walk((i) => void out.push(i));
    return out;
  };

  before(async () => {
    dir = tempDir('snap-ctr');
    sock = path.join(dir, 'c.sock');
    snapRoot = path.join(dir, 'snaps');
    const hutchSock = path.join(dir, 'hutch.sock');
    server = spawn(process.execPath, [HUTCH_BIN, 'snapshotter', 'serve', '--address', hutchSock, '--root', snapRoot], { stdio: ['ignore', 'inherit', 'inherit'] });
    assert.ok(await eventually(() => fs.existsSync(hutchSock), 200, 50), 'timed out waiting for the hutch snapshotter socket');
    fs.writeFileSync(
      path.join(dir, 'config.toml'),
      [
        'version = 2',
        `root = "${dir}/root"`,
        `state = "${dir}/state"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${sock}"`,
        '[ttrpc]',
        `  address = "${sock}.ttrpc"`,
        '[proxy_plugins.hutch]',
        '  type = "snapshot"',
        `  address = "${hutchSock}"`,
        '',
      ].join('\n'),
    );
    containerd = spawn('containerd', ['-c', path.join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', fs.openSync(path.join(dir, 'containerd.log'), 'w')] });
    assert.ok(
      await eventually(() => ctr('version').then(() => true, () => false), 200, 50),
      'timed out waiting for containerd',
    );
    const archive = path.join(dir, 'image.tar');
    await writeDockerArchive(archive, { ...(await testImage(image)), name: `hutchtest:${RUN_ID}` });
    await ctr('image', 'import', '--snapshotter', 'hutch', archive);
  });

  after(async () => {
    await ctr('image', 'rm', '--sync', image).catch(() => undefined);
    await stop(containerd);
    await stop(server);
    for (const m of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter((p) => p?.startsWith(dir)).reverse()) {
      await run('umount', ['-l', m]).catch(() => undefined);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    // runc's shim leaves the namespace's parent cgroup (/<ns>) in every hierarchy: ours, by name
    const hierarchies = ['/sys/fs/cgroup', ...fs.readdirSync('/sys/fs/cgroup').map((h) => path.join('/sys/fs/cgroup', h))];
    for (const h of hierarchies) {
      const cg = path.join(h, ns);
      if (!fs.existsSync(cg)) continue;
      const { stdout } = await run('find', [cg, '-depth', '-type', 'd']);
      for (const d of stdout.split('\n').filter(Boolean)) fs.rmdirSync(d);
    }
  });

  it('unpacks the image into our store: one committed snapshot per layer, keyed by containerd', async () => {
    const snaps = await ours();
    assert.equal(snaps.length, 3, JSON.stringify(snaps.map((s) => s.name)));
    for (const s of snaps) {
      assert.equal(s.kind, 'committed');
      assert.match(s.name, new RegExp(`^${ns}/\\d+/sha256:[0-9a-f]{64}$`));
    }
    const { stdout } = await ctr('snapshots', '--snapshotter', 'hutch', 'ls');
    assert.equal(stdout.trim().split('\n').length, 4, stdout); // header + 3
  });

  it('runs a container on it with the stock runc shim', async () => {
    const { stdout } = await ctr(
      'run', '--snapshotter', 'hutch', '--rm', image, `snap-${RUN_ID}`,
      'sh', '-c', 'cat /etc/hello /data/link1; ls /opt/old; test -e /etc/deleteme || echo deleteme-gone; echo x > /etc/written; cat /etc/written',
    );
    assert.equal(stdout, 'hello from layer 3\nhello from layer 2\nnew\ndeleteme-gone\nx\n');
  });

  it('serves the snapshot API: prepare, stat, usage, labels, mounts, remove', async () => {
    // the snapshot whose parent is not a parent of another: the top layer
    const rows = (await ctr('snapshots', '--snapshotter', 'hutch', 'ls')).stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
    const parents = new Set(rows.map((r) => r[1]));
    const topChain = rows.find((r) => !parents.has(r[0]))![0];
    await ctr('snapshots', '--snapshotter', 'hutch', 'prepare', `k-${RUN_ID}`, topChain);
    const info = JSON.parse((await ctr('snapshots', '--snapshotter', 'hutch', 'info', `k-${RUN_ID}`)).stdout);
    assert.equal(info.Kind, 'Active');
    assert.equal(info.Parent, topChain);
    await ctr('snapshots', '--snapshotter', 'hutch', 'label', `k-${RUN_ID}`, 'containerd.io/snapshot/hutch-test=yes');
    const backend = (await ours()).find((s) => s.name.endsWith(`/k-${RUN_ID}`))!;
    assert.equal(backend.labels['containerd.io/snapshot/hutch-test'], 'yes');
    const mounts = (await ctr('snapshots', '--snapshotter', 'hutch', 'mounts', '/mnt', `k-${RUN_ID}`)).stdout;
    assert.match(mounts, /mount -t overlay overlay .*upperdir=.*snaps\/snapshots\/\d+\/fs/);
    const usage = (await ctr('snapshots', '--snapshotter', 'hutch', 'usage', `k-${RUN_ID}`)).stdout;
    assert.match(usage, /k-\w+\s+\d/);
    await ctr('snapshots', '--snapshotter', 'hutch', 'rm', `k-${RUN_ID}`);
  });

  it("leaves containerd's garbage collector to remove every snapshot once the image is gone", async () => {
    await ctr('image', 'rm', '--sync', image);
    assert.ok(await eventually(async () => (await ours()).length === 0, 200, 50), 'timed out waiting for GC to empty our store');
    assert.deepEqual(await ours(), []);
  });
});
