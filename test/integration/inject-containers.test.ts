// Injection through `hutch wrap -- runc` and through `hutch run`, checked from inside real containers: CDI
// devices (stand-in device nodes made with mknod), hooks.d hooks, and the GPU hook on a
// stand-in NVIDIA driver tree (nodes with the NVIDIA major 195, libraries built here);
// the GPU hook under plain runc; `hutch cdi generate` consumed through CDI; broken
// input that must leave nothing behind; and nvidia-smi where a real GPU exists.
import assert = require('node:assert/strict');
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeBundle } from '../fixtures/busybox';
import { HUTCH_BIN, REPO_ROOT, containerId, isRoot, tempDir } from '../fixtures/env';

const skip = !isRoot() ? 'needs root' : spawnSync('runc', ['--version']).status !== 0 ? 'runc is not installed' : false;
const GPU_HOOK = path.join(REPO_ROOT, 'bin', 'hutch-gpu-hook');
const LIBDIR = '/usr/lib/x86_64-linux-gnu';

let root = '';
let runcRoot = '';
const ids: string[] = [];

function runc(...args: string[]): ReturnType<typeof spawnSync> {
  return spawnSync('runc', ['--root', runcRoot, ...args], { encoding: 'utf8', timeout: 60_000 });
}

let hutchRoot = '';
const hutchIds: string[] = [];

type Via = 'wrap' | 'hutch';

/**
 * Runs a container in the foreground and returns what it printed:
 *   wrap:  hutch --config CFG wrap -- runc --root R [--log L --log-format json] run --bundle B ID
 *   hutch: hutch --root R --config CFG [--log L --log-format json] run --bundle B ID
 */
function runContainer(via: Via, config: string, bundle: string, id: string, log?: string): { status: number | null; stdout: string; stderr: string } {
  const logArgs = log ? ['--log', log, '--log-format', 'json'] : [];
  const argv =
    via === 'wrap'
      ? ['--config', config, 'wrap', '--', 'runc', '--root', runcRoot, ...logArgs, 'run', '--bundle', bundle, id]
      : ['--root', hutchRoot, '--config', config, ...logArgs, 'run', '--bundle', bundle, id];
  (via === 'wrap' ? ids : hutchIds).push(id);
  const r = spawnSync(HUTCH_BIN, argv, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether the runtime knows the container (it must not, after a failed create). */
function known(via: Via, id: string): boolean {
  if (via === 'wrap') return runc('state', id).status === 0;
  return spawnSync(HUTCH_BIN, ['--root', hutchRoot, 'state', id]).status === 0;
}

/** The messages of the logrus-style lines hutch writes to stderr (time="…" level=… msg="…"). */
function messages(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => /msg=(".*")$/.exec(l)?.[1])
    .filter((m): m is string => m !== undefined)
    .map((m) => JSON.parse(m) as string);
}

function writeConfig(name: string, text: string): string {
  const file = path.join(root, name);
  fs.writeFileSync(file, text);
  return file;
}

/** A stand-in NVIDIA driver: device nodes with major 195, /proc information, real shared objects, nvidia-smi. */
function standInDriver(dir: string): Record<string, unknown> {
  const dev = path.join(dir, 'dev');
  fs.mkdirSync(dev, { recursive: true });
  for (const [name, major, minor] of [['nvidia0', 195, 0], ['nvidia1', 195, 1], ['nvidiactl', 195, 255], ['nvidia-uvm', 237, 0]] as const) {
    execFileSync('mknod', ['-m', '666', path.join(dev, name), 'c', String(major), String(minor)]);
  }
  for (const [bus, minor, uuid] of [['0000:3b:00.0', 0, 'GPU-11111111-aaaa'], ['0000:86:00.0', 1, 'GPU-22222222-bbbb']] as const) {
    const info = path.join(dir, 'proc', 'driver', 'nvidia', 'gpus', bus);
    fs.mkdirSync(info, { recursive: true });
    fs.writeFileSync(path.join(info, 'information'), `Model: \t\t Stand-in GPU\nGPU UUID: \t ${uuid}\nDevice Minor: \t ${minor}\n`);
  }
  const lib = path.join(dir, LIBDIR);
  fs.mkdirSync(lib, { recursive: true });
  const src = path.join(dir, 'standin.c');
  fs.writeFileSync(src, 'int nvmlInit(void) { return 0; }\n');
  for (const [stem, version] of [['libnvidia-ml', '535.00'], ['libcuda', '535.00']]) {
    execFileSync('cc', ['-shared', '-fPIC', `-Wl,-soname,${stem}.so.1`, '-o', path.join(lib, `${stem}.so.${version}`), src]);
    fs.symlinkSync(`${stem}.so.${version}`, path.join(lib, `${stem}.so.1`));
  }
  fs.mkdirSync(path.join(dir, 'usr', 'bin'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'usr', 'bin', 'nvidia-smi'), '#!/bin/sh\necho "NVIDIA-SMI stand-in: $NVIDIA_VISIBLE_DEVICES"\n', { mode: 0o755 });
  return { driverRoot: dir, devRoot: dev, procRoot: path.join(dir, 'proc'), libDirs: [LIBDIR], binDirs: ['/usr/bin'] };
}

function gpuConfigYaml(settings: Record<string, unknown>, extra = ''): string {
  return `injectors:\n  gpu: ${JSON.stringify(settings)}\n${extra}`;
}

/** What CHECK_GPU prints for a container given GPU 1 (c3 = 195, ed = 237). */
const GPU_EXPECTED = (visible: string): string =>
  [
    'node /dev/nvidia0 absent',
    'node /dev/nvidia1 c3:1',
    'node /dev/nvidiactl c3:ff',
    'node /dev/nvidia-uvm ed:0',
    'open nvidia1: No such device or address',
    'link libnvidia-ml.so.535.00',
    'ldcache 1',
    'write lib: Read-only file system',
    `NVIDIA-SMI stand-in: ${visible}`,
    '',
  ].join('\n');

const CHECK_GPU = [
  'sh',
  '-c',
  [
    'for d in /dev/nvidia0 /dev/nvidia1 /dev/nvidiactl /dev/nvidia-uvm; do if [ -c $d ]; then echo "node $d $(stat -c %t:%T $d)"; else echo "node $d absent"; fi; done',
    'cat /dev/nvidia1 2>&1 | sed "s/^.*: /open nvidia1: /"',
    'echo "link $(readlink ' + LIBDIR + '/libnvidia-ml.so.1)"',
    'grep -c libnvidia-ml.so.1 /etc/ld.so.cache | sed "s/^/ldcache /"',
    '( echo x > ' + LIBDIR + '/libnvidia-ml.so.535.00 ) 2>&1 | sed "s/^.*: /write lib: /"',
    '/usr/bin/nvidia-smi',
  ].join('; '),
];

describe('spec injection', { skip }, () => {
  let driver: Record<string, unknown> = {};

  before(() => {
    root = tempDir('inject');
    runcRoot = path.join(root, 'runc-root');
    hutchRoot = path.join(root, 'hutch-root');
    driver = standInDriver(path.join(root, 'driver'));
  });

  after(() => {
    for (const id of ids) runc('delete', '--force', id);
    for (const id of hutchIds) spawnSync(HUTCH_BIN, ['--root', hutchRoot, 'delete', '--force', id]);
    fs.rmSync(root, { recursive: true, force: true });
  });

  for (const via of ['wrap', 'hutch'] as const) {
    const title = via === 'wrap' ? 'hutch wrap -- runc' : 'hutch run';
    /** a name unique to this pass */
    const n = (name: string): string => `${name}-${via}`;
    const dirOf = (name: string): string => {
      const dir = path.join(root, n(name));
      fs.mkdirSync(dir, { recursive: true });
      return dir;
    };

    describe(`through ${title}`, () => {
      it('CDI: a stand-in device node, a mount and an env var, seen from inside the container', () => {
        const dir = dirOf('cdi');
        fs.mkdirSync(path.join(dir, 'specs'));
        fs.mkdirSync(path.join(dir, 'share'));
        fs.writeFileSync(path.join(dir, 'share', 'hello.txt'), 'hello from the host\n');
        // urandom's numbers (1:9) so it can really be read; 195:254 is not in any default allow list
        execFileSync('mknod', ['-m', '666', path.join(dir, 'rng'), 'c', '1', '9']);
        execFileSync('mknod', ['-m', '666', path.join(dir, 'accel'), 'c', '195', '254']);
        fs.writeFileSync(
          path.join(dir, 'specs', 'standin.yaml'),
          [
            'cdiVersion: "0.5.0"',
            'kind: hutch.test/standin',
            'containerEdits:',
            '  env: [HUTCH_CDI_SPEC=applied]',
            'devices:',
            '  - name: dev0',
            '    containerEdits:',
            '      deviceNodes:',
            `        - { path: /dev/hutch-rng, hostPath: ${dir}/rng }`,
            `        - { path: /dev/hutch-accel, hostPath: ${dir}/accel, permissions: rw }`,
            '      mounts:',
            `        - { hostPath: ${dir}/share, containerPath: /mnt/share, type: bind, options: [rbind, ro] }`,
            '      env: [HUTCH_CDI_DEVICE=dev0]',
            '',
          ].join('\n'),
        );
        const config = writeConfig(n('cdi.yaml'), `injectors:\n  cdi: { specDirs: [${dir}/specs] }\n`);
        const bundle = makeBundle(
          path.join(dir, 'bundle'),
          [
            'sh',
            '-c',
            'echo "rng $(head -c 16 /dev/hutch-rng | wc -c) $(stat -c %t:%T /dev/hutch-rng)"; echo "accel $(stat -c %t:%T /dev/hutch-accel)"; cat /dev/hutch-accel 2>&1 | sed "s/^.*: /open accel: /"; cat /mnt/share/hello.txt; echo "env $HUTCH_CDI_SPEC $HUTCH_CDI_DEVICE"',
          ],
          (s) => {
            s.annotations = { 'cdi.k8s.io/test': 'hutch.test/standin=dev0' };
          },
        );
        const r = runContainer(via, config, bundle, containerId(n('cdi')));
        assert.equal(r.status, 0, r.stderr);
        // c3:fe = 195:254; ENXIO, not EPERM: the cgroup lets the container open it, no driver answers
        assert.equal(r.stdout, 'rng 16 1:9\naccel c3:fe\nopen accel: No such device or address\nhello from the host\nenv applied dev0\n');
      });

      it('hooks.d: a matching hook runs at prestart and poststop with the state; a non-matching container gets none', () => {
        const dir = dirOf('hooksd');
        fs.mkdirSync(path.join(dir, 'hooks.d'));
        const marker = path.join(dir, 'marker');
        const hook = path.join(dir, 'marker-hook');
        fs.writeFileSync(hook, `#!/bin/sh\ncat > ${marker}-$1\n`, { mode: 0o755 });
        fs.writeFileSync(
          path.join(dir, 'hooks.d', '50-marker.json'),
          JSON.stringify({ version: '1.0.0', hook: { path: hook, args: ['marker-hook', 'x'] }, when: { annotations: { '^com\\.example\\.marker$': '^yes$' } }, stages: ['prestart', 'poststop'] }),
        );
        const config = writeConfig(n('hooksd.yaml'), `injectors:\n  hooksd: { dirs: [${dir}/hooks.d] }\n`);
        const off = makeBundle(path.join(dir, 'off'), ['true']);
        assert.equal(runContainer(via, config, off, containerId(n('hooks-off'))).status, 0);
        assert.equal(fs.existsSync(`${marker}-x`), false);
        const on = makeBundle(path.join(dir, 'on'), ['true'], (s) => {
          s.annotations = { 'com.example.marker': 'yes' };
        });
        const id = containerId(n('hooks-on'));
        const r = runContainer(via, config, on, id);
        assert.equal(r.status, 0, r.stderr);
        const state = JSON.parse(fs.readFileSync(`${marker}-x`, 'utf8'));
        assert.equal(state.id, id);
        assert.equal(state.status, 'stopped', 'the last run of the hook was poststop');
      });

      it('GPU: the hook binds the chosen GPU, control devices, libraries and programs, and updates the linker cache', () => {
        const config = writeConfig(n('gpu.yaml'), gpuConfigYaml(driver));
        const bundle = makeBundle(path.join(dirOf('gpu'), 'bundle'), CHECK_GPU, (s) => {
          s.process.env.push('NVIDIA_VISIBLE_DEVICES=GPU-22222222-bbbb');
        });
        const r = runContainer(via, config, bundle, containerId(n('gpu')));
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, GPU_EXPECTED('GPU-22222222-bbbb'));
      });

      it('GPU: io.hutch.gpus asks for GPUs without the environment variable', () => {
        const config = writeConfig(n('gpu2.yaml'), gpuConfigYaml(driver));
        const bundle = makeBundle(path.join(dirOf('gpu-annotation'), 'bundle'), ['sh', '-c', 'ls /dev | grep nvidia | sort | tr "\\n" " "; echo; nvidia-smi'], (s) => {
          s.annotations = { 'io.hutch.gpus': '0' };
        });
        const r = runContainer(via, config, bundle, containerId(n('gpu-annot')));
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, 'nvidia-uvm nvidia0 nvidiactl \nNVIDIA-SMI stand-in: 0\n');
      });

      it('GPU: asking for a GPU that does not exist fails before anything is created, naming it', () => {
        const config = writeConfig(n('gpu3.yaml'), gpuConfigYaml(driver));
        const bundle = makeBundle(path.join(dirOf('gpu-bad'), 'bundle'), ['true'], (s) => {
          s.process.env.push('NVIDIA_VISIBLE_DEVICES=5');
        });
        const before = fs.readFileSync(path.join(bundle, 'config.json'), 'utf8');
        const id = containerId(n('gpu-bad'));
        const r = runContainer(via, config, bundle, id);
        assert.equal(r.status, 1);
        assert.deepEqual(messages(r.stderr), [`create: injector "gpu" failed for container "${id}": NVIDIA_VISIBLE_DEVICES: no GPU "5" on this host (GPUs: 0 (GPU-11111111-aaaa), 1 (GPU-22222222-bbbb))`]);
        assert.equal(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'), before);
        assert.equal(known(via, id), false);
      });

      it('cdi generate on the stand-in driver, consumed through CDI (createContainer hooks make the symlinks and linker cache)', () => {
        const specs = dirOf('gen-specs');
        const gen = spawnSync(HUTCH_BIN, ['--config', writeConfig(n('gen.yaml'), gpuConfigYaml(driver)), 'cdi', 'generate', '--output', path.join(specs, 'nvidia.yaml')], { encoding: 'utf8' });
        assert.equal(gen.status, 0, gen.stderr);
        const config = writeConfig(n('gen-use.yaml'), `injectors:\n  use: [cdi]\n  cdi: { specDirs: [${specs}] }\n`);
        const list = spawnSync(HUTCH_BIN, ['--config', config, 'cdi', 'list'], { encoding: 'utf8' });
        assert.deepEqual(list.stdout.split('\n').filter(Boolean).map((l) => l.split('\t')[0]), ['nvidia.com/gpu=0', 'nvidia.com/gpu=1', 'nvidia.com/gpu=all']);
        const bundle = makeBundle(path.join(dirOf('gen'), 'bundle'), CHECK_GPU, (s) => {
          s.annotations = { 'cdi.k8s.io/gpu': 'nvidia.com/gpu=1' };
        });
        const r = runContainer(via, config, bundle, containerId(n('gen')));
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, GPU_EXPECTED('void'));
      });

      it('a broken CDI spec file: one clear error (also in the --log), config.json untouched, nothing created', () => {
        const specs = dirOf('broken-specs');
        fs.writeFileSync(path.join(specs, 'broken.json'), JSON.stringify({ cdiVersion: '0.5.0', kind: 'hutch.test/broken', devices: [{ name: 'dev0', containerEdits: { deviceNode: [] } }] }));
        const config = writeConfig(n('broken-cdi.yaml'), `injectors:\n  cdi: { specDirs: [${specs}] }\n`);
        const bundle = makeBundle(path.join(dirOf('broken-cdi'), 'bundle'), ['true'], (s) => {
          s.annotations = { 'cdi.k8s.io/x': 'hutch.test/broken=dev0' };
        });
        const before = fs.readFileSync(path.join(bundle, 'config.json'), 'utf8');
        const id = containerId(n('broken-cdi'));
        const log = path.join(root, n('broken-cdi.log'));
        const r = runContainer(via, config, bundle, id, log);
        assert.equal(r.status, 1);
        const line = `create: injector "cdi" failed for container "${id}": unknown CDI device "hutch.test/broken=dev0" (no spec file in ${specs} defines it); spec files that could not be read: ${specs}/broken.json: devices[0].containerEdits.deviceNode: unknown field (known: env, deviceNodes, mounts, hooks, additionalGids, intelRdt, netDevices)`;
        assert.ok(r.stderr.includes(line) || messages(r.stderr).includes(line), r.stderr);
        assert.equal(JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n').pop()!).msg, line);
        assert.equal(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'), before);
        assert.deepEqual(fs.readdirSync(bundle).sort(), ['config.json', 'rootfs']);
        assert.equal(known(via, id), false);
      });

      it('a user plugin that throws: one error naming the plugin and the container, nothing created', () => {
        const plugin = path.join(dirOf('explode'), 'explode.js');
        fs.writeFileSync(plugin, 'module.exports = class Explode { inject(spec, ctx) { throw new Error(`cannot inject into ${ctx.bundle}`); } };');
        const config = writeConfig(n('broken-plugin.yaml'), `plugins:\n  - { kind: injector, name: explode, module: ${plugin} }\n`);
        const bundle = makeBundle(path.join(dirOf('broken-plugin'), 'bundle'), ['true']);
        const before = fs.readFileSync(path.join(bundle, 'config.json'), 'utf8');
        const id = containerId(n('broken-plugin'));
        const r = runContainer(via, config, bundle, id);
        assert.equal(r.status, 1);
        assert.deepEqual(messages(r.stderr), [`create: injector "explode" (user plugin ${plugin}) failed for container "${id}": cannot inject into ${bundle}`]);
        assert.equal(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'), before);
        assert.equal(known(via, id), false);
      });

      it('the example plugin from the README: env var and read-only bind mount when the annotation is present', () => {
        const share = dirOf('greeting-share');
        fs.writeFileSync(path.join(share, 'motd'), 'shared greeting file\n');
        const config = writeConfig(
          n('greeting.yaml'),
          `plugins:\n  - { kind: injector, name: greeting, module: ${path.join(REPO_ROOT, 'dist', 'examples', 'annotation-mount-injector.js')} }\ninjectors:\n  greeting: { hostDir: ${share} }\n`,
        );
        const bundle = makeBundle(path.join(dirOf('greeting'), 'bundle'), ['sh', '-c', 'echo "$GREETING"; cat /greeting/motd; touch /greeting/x 2>&1 | sed "s/^.*: /touch: /"'], (s) => {
          s.annotations = { 'example.com/greeting': 'hello, world' };
        });
        const r = runContainer(via, config, bundle, containerId(n('greeting')));
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, 'hello, world\nshared greeting file\ntouch: Read-only file system\n');
      });

      it('nvidia-smi in a container on a host with a real NVIDIA GPU', { skip: !fs.existsSync('/dev/nvidiactl') && 'no /dev/nvidiactl on this host: no NVIDIA GPU to test with' }, () => {
        const bundle = makeBundle(path.join(dirOf('real-gpu'), 'bundle'), ['nvidia-smi', '-L'], (s) => {
          s.process.env.push('NVIDIA_VISIBLE_DEVICES=all');
          // nvidia-smi is a glibc program: give the busybox root the host's libraries and programs, read-only
          for (const d of ['/usr', '/lib', '/lib64']) if (fs.existsSync(d)) s.mounts.push({ destination: d, type: 'bind', source: d, options: ['rbind', 'ro'] });
          s.process.env = s.process.env.map((e: string) => (e.startsWith('PATH=') ? 'PATH=/usr/bin:/usr/sbin:/bin:/sbin' : e));
        });
        const r = runContainer(via, writeConfig(n('real.yaml'), 'injectors: { use: [gpu] }\n'), bundle, containerId(n('real-gpu')));
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /^GPU 0: /m);
      });
    });
  }

  describe('runc alone', () => {
    it('the GPU hook under plain runc (no hutch in front): it opens the devices cgroup itself', () => {
      const bundle = makeBundle(path.join(root, 'b-gpu-plain'), ['sh', '-c', 'cat /dev/nvidia0 2>&1 | sed "s/^.*: /open nvidia0: /"; nvidia-smi'], (s) => {
        s.process.env.push('NVIDIA_VISIBLE_DEVICES=all');
        s.hooks = { prestart: [{ path: GPU_HOOK, args: ['hutch-gpu-hook', 'prestart', `--settings=${JSON.stringify(driver)}`], env: [`PATH=${path.dirname(process.execPath)}:/usr/bin:/bin`] }] };
      });
      const id = containerId('gpu-plain');
      ids.push(id);
      const r = runc('run', '--bundle', bundle, id);
      assert.equal(r.status, 0, String(r.stderr));
      assert.equal(r.stdout, 'open nvidia0: No such device or address\nNVIDIA-SMI stand-in: all\n');
    });

    it('wrap passes other commands through unchanged', () => {
      const r = spawnSync(HUTCH_BIN, ['wrap', '--', 'runc', '--root', runcRoot, 'list', '--format', 'json'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotThrow(() => JSON.parse(r.stdout || 'null'));
    });
  });
});
