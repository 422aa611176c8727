// GPU requests, discovery on a stand-in driver tree, the injector's golden spec, the
// hook's plan, and `cdi generate`'s output. No root: the stand-in device nodes here
// are symlinks to /dev/null and /dev/zero (the integration tests use mknod with the
// NVIDIA major, 195).
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { nsmountOps } from '../../plugins/gpu/apply';
import { generateCdiSpec } from '../../plugins/gpu/cdi-generate';
import { discoverGpus, selectGpus } from '../../plugins/gpu/discover';
import { gpuRequest } from '../../plugins/gpu/request';
import { parseCdiSpec } from '../../plugins/injectors/cdi/spec-file';
import { GpuInjector, gpuHookArgs } from '../../plugins/injectors/gpu';
import { defaultGpuSettings, type GpuSettings } from '../../plugins/injectors/settings';
import type { Spec } from '../../runtime/spec/types';
import { tempDir } from '../fixtures/env';

const root = tempDir('gpu');
after(() => fs.rmSync(root, { recursive: true, force: true }));
const silent = { log: { debug: () => undefined, info: () => undefined, warn: () => undefined } };

/** A stand-in driver: two GPUs (bus order differs from minor order), libraries, programs. */
function standIn(): GpuSettings {
  const base = fs.mkdtempSync(path.join(root, 'tree-'));
  const dev = path.join(base, 'dev');
  fs.mkdirSync(dev);
  for (const n of ['nvidia0', 'nvidia1', 'nvidiactl', 'nvidia-uvm']) fs.symlinkSync(n === 'nvidia1' ? '/dev/zero' : '/dev/null', path.join(dev, n));
  const gpus = path.join(base, 'proc', 'driver', 'nvidia', 'gpus');
  // /dev/null is 1:3 and /dev/zero 1:5: "Device Minor" names them.
  fs.mkdirSync(path.join(gpus, '0000:01:00.0'), { recursive: true });
  fs.writeFileSync(path.join(gpus, '0000:01:00.0', 'information'), 'Model: \t Stand-in A\nGPU UUID: \t GPU-aaaa-1111\nDevice Minor: \t 5\n');
  fs.mkdirSync(path.join(gpus, '0000:02:00.0'), { recursive: true });
  fs.writeFileSync(path.join(gpus, '0000:02:00.0', 'information'), 'Model: \t Stand-in B\nGPU UUID: \t GPU-bbbb-2222\nDevice Minor: \t 3\n');
  fs.writeFileSync(path.join(base, 'proc', 'driver', 'nvidia', 'version'), 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  535.104.05  Sat Aug 19 01:15:15 UTC 2023\n');
  const lib = path.join(base, 'usr', 'lib', 'x86_64-linux-gnu');
  fs.mkdirSync(lib, { recursive: true });
  for (const f of ['libnvidia-ml.so.535.104.05', 'libcuda.so.535.104.05', 'libnvcuvid.so.535.104.05', 'libnvidia-mlx.so.1']) fs.writeFileSync(path.join(lib, f), 'stand-in');
  fs.symlinkSync('libnvidia-ml.so.535.104.05', path.join(lib, 'libnvidia-ml.so.1'));
  fs.symlinkSync('libcuda.so.535.104.05', path.join(lib, 'libcuda.so.1'));
  fs.mkdirSync(path.join(base, 'usr', 'bin'), { recursive: true });
  fs.writeFileSync(path.join(base, 'usr', 'bin', 'nvidia-smi'), '#!/bin/sh\n', { mode: 0o755 });
  return { ...defaultGpuSettings(), driverRoot: base, devRoot: dev, procRoot: path.join(base, 'proc'), libDirs: ['/usr/lib/x86_64-linux-gnu'], binDirs: ['/usr/bin'] };
}

function spec(env: string[]): Spec {
  return { ociVersion: '1.0.2', process: { user: { uid: 0, gid: 0 }, cwd: '/', args: ['sh'], env }, root: { path: 'rootfs' } };
}

describe('GPU requests', () => {
  it('NVIDIA_VISIBLE_DEVICES forms, capabilities, the legacy CUDA rule, hutch annotations', () => {
    assert.equal(gpuRequest(['PATH=/bin'], {}), undefined);
    assert.equal(gpuRequest(['NVIDIA_VISIBLE_DEVICES=void'], {}), undefined);
    assert.equal(gpuRequest(['NVIDIA_VISIBLE_DEVICES='], {}), undefined);
    assert.equal(gpuRequest(['NVIDIA_VISIBLE_DEVICES=all'], {})?.devices, 'all');
    assert.equal(gpuRequest(['NVIDIA_VISIBLE_DEVICES=none'], {})?.devices, 'none');
    assert.deepEqual(gpuRequest(['NVIDIA_VISIBLE_DEVICES=0, GPU-ab'], {})?.devices, ['0', 'GPU-ab']);
    assert.deepEqual(gpuRequest(['NVIDIA_VISIBLE_DEVICES=all'], {})?.capabilities, ['utility', 'compute']);
    assert.deepEqual(gpuRequest(['NVIDIA_VISIBLE_DEVICES=all', 'NVIDIA_DRIVER_CAPABILITIES=video,utility'], {})?.capabilities, ['video', 'utility']);
    assert.equal(gpuRequest(['NVIDIA_VISIBLE_DEVICES=all', 'NVIDIA_DRIVER_CAPABILITIES=all'], {})?.capabilities.length, 7);
    assert.equal(gpuRequest(['CUDA_VERSION=12.2'], {})?.devices, 'all', 'legacy CUDA image');
    assert.equal(gpuRequest(['CUDA_VERSION=12.2', 'NVIDIA_REQUIRE_CUDA=cuda>=12'], {}), undefined);
    assert.deepEqual(gpuRequest(['NVIDIA_VISIBLE_DEVICES=all'], { 'io.hutch.gpus': '1' })?.devices, ['1'], 'the annotation wins');
    assert.equal(gpuRequest(['NVIDIA_VISIBLE_DEVICES=all'], { 'io.hutch.gpus': 'void' }), undefined);
  });
});

describe('GPU discovery (stand-in tree)', () => {
  const settings = standIn();

  it('finds GPUs in bus order with UUIDs, control devices, files by capability', () => {
    const found = discoverGpus(settings, ['utility', 'compute']);
    assert.deepEqual(
      found.gpus.map((g) => [g.index, g.uuid, g.node.containerPath, g.node.major, g.node.minor]),
      [
        [0, 'GPU-aaaa-1111', '/dev/nvidia1', 1, 5],
        [1, 'GPU-bbbb-2222', '/dev/nvidia0', 1, 3],
      ],
    );
    assert.deepEqual(found.controlDevices.map((d) => d.containerPath), ['/dev/nvidiactl', '/dev/nvidia-uvm']);
    assert.deepEqual(
      found.files.map((f) => `${f.containerPath}${f.linkTarget ? ` -> ${f.linkTarget}` : ''}`),
      [
        '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1 -> libnvidia-ml.so.535.104.05',
        '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.104.05',
        '/usr/bin/nvidia-smi',
        '/usr/lib/x86_64-linux-gnu/libcuda.so.1 -> libcuda.so.535.104.05',
        '/usr/lib/x86_64-linux-gnu/libcuda.so.535.104.05',
      ],
      'libnvidia-mlx is not libnvidia-ml; video libraries only with the video capability',
    );
    assert.equal(found.driverVersion, '535.104.05');
    assert.ok(discoverGpus(settings, ['video']).files.some((f) => f.containerPath.endsWith('libnvcuvid.so.535.104.05')));
  });

  it('selection by index, UUID, all, none; clear errors', () => {
    const found = discoverGpus(settings, ['utility']);
    const pick = (env: string): number[] => selectGpus(found, gpuRequest([`NVIDIA_VISIBLE_DEVICES=${env}`], {})!, settings).map((g) => g.index);
    assert.deepEqual(pick('all'), [0, 1]);
    assert.deepEqual(pick('none'), []);
    assert.deepEqual(pick('1,GPU-AAAA-1111'), [1, 0]);
    assert.throws(() => pick('7'), /NVIDIA_VISIBLE_DEVICES: no GPU "7" on this host \(GPUs: 0 \(GPU-aaaa-1111\), 1 \(GPU-bbbb-2222\)\)/);
    assert.throws(() => pick('MIG-1234'), /MIG devices are not supported/);
    assert.throws(() => pick('gpu0'), /"gpu0" is not a GPU index or UUID/);
    assert.throws(() => discoverGpus(settings, ['compute', 'warp']), /unknown capability "warp"/);
    const noDriver = { ...settings, devRoot: path.join(root, 'empty-dev') };
    assert.throws(
      () => selectGpus(discoverGpus(noDriver, ['utility']), gpuRequest(['NVIDIA_VISIBLE_DEVICES=all'], {})!, noDriver),
      /NVIDIA_VISIBLE_DEVICES=all: no NVIDIA driver on this host \(.*empty-dev\/nvidiactl does not exist\)/,
    );
  });

  it('the injector adds one prestart hook with the settings, and allow rules for the chosen devices', () => {
    const out = new GpuInjector(settings, silent).inject(spec(['NVIDIA_VISIBLE_DEVICES=1']), { id: 'c', bundle: '/b', annotations: {} });
    assert.deepEqual(out.hooks!.prestart!.map((h) => [h.path, h.args!.slice(0, 2)]), [[settings.hookPath, ['hutch-gpu-hook', 'prestart']]]);
    assert.match(out.hooks!.prestart![0].args![2], /^--settings=\{"driverRoot":/);
    assert.deepEqual(out.linux!.resources!.devices, [
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rw' },
    ]);
    const again = new GpuInjector(settings, silent).inject(structuredClone(out), { id: 'c', bundle: '/b', annotations: {} });
    assert.equal(again.hooks!.prestart!.length, 1, 'not injected twice');
    assert.equal(new GpuInjector(settings, silent).inject(spec([]), { id: 'c', bundle: '/b', annotations: {} }).hooks, undefined);
    const viaAnnotation = new GpuInjector({ ...settings, stage: 'createRuntime' }, silent).inject(spec([]), { id: 'c', bundle: '/b', annotations: { 'io.hutch.gpus': 'all' } });
    assert.ok(viaAnnotation.process!.env!.includes('NVIDIA_VISIBLE_DEVICES=all'), 'the hook reads the request from config.json');
    assert.equal(viaAnnotation.hooks!.createRuntime!.length, 1);
  });

  it('default settings travel as no argument at all', () => {
    assert.deepEqual(gpuHookArgs(defaultGpuSettings(), 'prestart'), ['hutch-gpu-hook', 'prestart']);
  });

  it("the hook's plan: devices, read-only files, symlinks, linker cache", () => {
    const found = discoverGpus(settings, ['utility']);
    const ops = nsmountOps(found, [found.gpus[0]], settings);
    assert.deepEqual(ops.slice(0, 9), [
      'dev', path.join(settings.devRoot, 'nvidia1'), '/dev/nvidia1',
      'dev', path.join(settings.devRoot, 'nvidiactl'), '/dev/nvidiactl',
      'dev', path.join(settings.devRoot, 'nvidia-uvm'), '/dev/nvidia-uvm',
    ]);
    assert.deepEqual(ops.slice(9), [
      'link', 'libnvidia-ml.so.535.104.05', '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.1',
      'ro', path.join(settings.driverRoot, 'usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.104.05'), '/usr/lib/x86_64-linux-gnu/libnvidia-ml.so.535.104.05',
      'ro', path.join(settings.driverRoot, 'usr/bin/nvidia-smi'), '/usr/bin/nvidia-smi',
      'lddir', '/usr/lib/x86_64-linux-gnu',
      'ldconfig', '/sbin/ldconfig',
    ]);
  });

  it('cdi generate: a valid CDI spec, GPUs by index or UUID plus "all"', () => {
    const found = discoverGpus(settings, ['utility', 'compute']);
    const byIndex = generateCdiSpec(found, settings, { nameBy: 'index' });
    const parsed = parseCdiSpec(JSON.stringify(byIndex), '/generated.json');
    assert.deepEqual(parsed.devices.map((d) => d.name), ['0', '1', 'all']);
    assert.deepEqual(parsed.devices[0].containerEdits.deviceNodes, [{ path: '/dev/nvidia1', hostPath: path.join(settings.devRoot, 'nvidia1') }]);
    assert.deepEqual(parsed.containerEdits!.env, ['NVIDIA_VISIBLE_DEVICES=void']);
    assert.equal(parsed.containerEdits!.mounts!.length, 3);
    assert.deepEqual(parsed.containerEdits!.hooks!.map((h) => [h.hookName, h.args![1]]), [
      ['createContainer', 'create-symlinks'],
      ['createContainer', 'update-ldcache'],
    ]);
    const byUuid = generateCdiSpec(found, settings, { nameBy: 'uuid' });
    assert.deepEqual(byUuid.devices.map((d) => d.name), ['GPU-aaaa-1111', 'GPU-bbbb-2222', 'all']);
  });
});
