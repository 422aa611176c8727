/**
 * Images and snapshots, hutch side by side with containerd 1.6's own overlayfs
 * snapshotter, in one run:
 *  1. import + unpack of a ~100 MiB, 6-layer image (busybox plus generated files, a
 *     `docker save` archive made here): `hutch image import` vs `ctr image import`
 *     (and `ctr image import --snapshotter hutch`, containerd through our proxy);
 *  2. prepare + mount + unmount + remove of an active snapshot on that image: the
 *     hutch library in-process vs containerd's snapshot API over its gRPC socket
 *     (same client code, same mount code; only the snapshotter differs).
 *
 *   node dist/bench/snapshot-import.js [--runs N] [--cycles N]     (root)
 *
 * containerd and the hutch proxy run with their own root, state and sockets under a
 * temp dir, and everything is removed afterwards.
 */
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { ImageService } from '../plugins/images/images';
import { snapshotsService } from '../plugins/snapshotter/proxy/server';
import { mountAll, unmountAll } from '../plugins/snapshotter/mount';
import type { Mount } from '../plugins/snapshotter/snapshotter';
import { busyboxBaseEntries, layerTar, writeDockerArchive, type LayerEntry } from '../test/fixtures/image-builder';
import { HUTCH_BIN, RUN_ID, tempDir } from '../test/fixtures/env';
import { eventually } from '../test/fixtures/shim';
import { median } from './lib';

const arg = (name: string, def: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg('--runs', 3);
const CYCLES = arg('--cycles', 100);

function timed(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function timedAsync(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

/** 5 layers of 20 MiB of incompressible files on busybox. */
async function buildImage(file: string): Promise<number> {
  const layers = [await layerTar(busyboxBaseEntries())];
  for (let l = 0; l < 5; l++) {
    const entries: LayerEntry[] = [{ path: `gen${l}`, type: 'dir' }];
    for (let f = 0; f < 80; f++) entries.push({ path: `gen${l}/f${f}`, type: 'file', content: crypto.randomBytes(256 << 10) });
    layers.push(await layerTar(entries));
  }
  await writeDockerArchive(file, { name: `hutchbench:${RUN_ID}`, layers });
  return fs.statSync(file).size;
}

async function main(): Promise<void> {
  const dir = tempDir('snap-bench');
  const children: ChildProcess[] = [];
  const ns = `bench-${RUN_ID}`;
  const sock = path.join(dir, 'c.sock');
  const imageName = `docker.io/library/hutchbench:${RUN_ID}`;
  const ctr = (...a: string[]): string => execFileSync('ctr', ['-a', sock, '-n', ns, ...a], { encoding: 'utf8' });
  try {
    const archive = path.join(dir, 'image.tar');
    const size = await buildImage(archive);
    console.log(`image: ${(size / 1048576).toFixed(1)} MiB docker archive, 6 layers; ${RUNS} runs each (median)`);

    const hutchSock = path.join(dir, 'hutch.sock');
    const proxy = spawn(process.execPath, [HUTCH_BIN, 'snapshotter', 'serve', '--address', hutchSock, '--root', path.join(dir, 'proxy')], { stdio: 'ignore' });
    children.push(proxy);
    assert.ok(await eventually(() => fs.existsSync(hutchSock), 400, 50), 'timed out waiting for the hutch proxy');
    fs.writeFileSync(
      path.join(dir, 'config.toml'),
      `version = 2\nroot = "${dir}/root"\nstate = "${dir}/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "${sock}"\n[ttrpc]\n  address = "${sock}.ttrpc"\n[proxy_plugins.hutch]\n  type = "snapshot"\n  address = "${hutchSock}"\n`,
    );
    const cd = spawn('containerd', ['-c', path.join(dir, 'config.toml')], { stdio: 'ignore' });
    children.push(cd);
    assert.ok(
      await eventually(
        () => {
          try {
            ctr('version');
            return true;
          } catch {
            return false;
          }
        },
        400,
        50,
      ),
      'timed out waiting for containerd',
    );

    // 1. import + unpack
    const imageRoot = path.join(dir, 'hutch-images');
    const hutchImport: number[] = [];
    const ctrImport: number[] = [];
    const ctrProxyImport: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      fs.rmSync(imageRoot, { recursive: true, force: true });
      hutchImport.push(timed(() => execFileSync(process.execPath, [HUTCH_BIN, 'image', 'import', '--image-root', imageRoot, archive], { stdio: 'ignore' })));
      ctrImport.push(timed(() => ctr('image', 'import', archive)));
      ctr('image', 'rm', '--sync', imageName);
      ctrProxyImport.push(timed(() => ctr('image', 'import', '--snapshotter', 'hutch', archive)));
      ctr('image', 'rm', '--sync', imageName);
    }
    const hi = median(hutchImport);
    const ci = median(ctrImport);
    const pi = median(ctrProxyImport);
    console.log('\nimport + unpack (CLI, wall time)');
    console.log(`  hutch image import                          ${hi.toFixed(0).padStart(7)} ms`);
    console.log(`  ctr image import (overlayfs)                ${ci.toFixed(0).padStart(7)} ms`);
    console.log(`  ctr image import --snapshotter hutch        ${pi.toFixed(0).padStart(7)} ms`);
    console.log(`  ratio hutch / containerd: ${(hi / ci).toFixed(2)}x; containerd via hutch proxy / containerd: ${(pi / ci).toFixed(2)}x`);

    // 2. prepare + mount + unmount + remove on the image's top layer
    ctr('image', 'import', archive);
    const images = new ImageService({ root: imageRoot });
    const top = (await images.get(`hutchbench:${RUN_ID}`)).chainIds.at(-1)!;
    const sn = images.snapshotter();
    const target = path.join(dir, 'mnt');
    fs.mkdirSync(target);
    const hutchCycle = async (i: number): Promise<void> => {
      const m = await sn.prepare(`bench-${i}`, top);
      mountAll(m, target);
      unmountAll(target);
      await sn.remove(`bench-${i}`);
    };
    const Client = grpc.makeGenericClientConstructor(snapshotsService as unknown as grpc.ServiceDefinition, 'Snapshots');
    const client = new Client(`unix://${sock}`, grpc.credentials.createInsecure()) as unknown as Record<string, (r: unknown, m: grpc.Metadata, cb: (e: Error | null, r: { mounts: Mount[] }) => void) => void> & grpc.Client;
    const md = new grpc.Metadata();
    md.set('containerd-namespace', ns);
    const rpc = (m: string, req: Record<string, unknown>): Promise<{ mounts: Mount[] }> => new Promise((res, rej) => client[m](req, md, (e, r) => (e ? rej(e) : res(r))));
    const ctrCycle = async (i: number): Promise<void> => {
      // gc.root: without a lease, containerd's GC may collect an active snapshot at once
      const { mounts } = await rpc('Prepare', { snapshotter: 'overlayfs', key: `bench-${i}`, parent: top, labels: { 'containerd.io/gc.root': 'true' } });
      mountAll(mounts.map((m) => ({ type: m.type, source: m.source, options: m.options })), target);
      unmountAll(target);
      await rpc('Remove', { snapshotter: 'overlayfs', key: `bench-${i}` });
    };
    for (let i = 0; i < 5; i++) {
      await hutchCycle(-1 - i); // warm up both
      await ctrCycle(-1 - i);
    }
    const h = (await timedAsync(async () => {
      for (let i = 0; i < CYCLES; i++) await hutchCycle(i);
    })) / CYCLES;
    const c = (await timedAsync(async () => {
      for (let i = 0; i < CYCLES; i++) await ctrCycle(i);
    })) / CYCLES;
    client.close();
    console.log(`\nprepare + mount + unmount + remove of an active snapshot (${CYCLES} cycles, mean)`);
    console.log(`  hutch overlayfs (library, in-process)       ${h.toFixed(2).padStart(7)} ms`);
    console.log(`  containerd overlayfs (snapshot API, gRPC)   ${c.toFixed(2).padStart(7)} ms`);
    console.log(`  ratio hutch / containerd: ${(h / c).toFixed(2)}x (containerd's Remove defers deleting the directory to its GC)`);
    ctr('image', 'rm', '--sync', imageName);
  } finally {
    for (const c of children.reverse()) {
      c.kill('SIGTERM');
      await new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
