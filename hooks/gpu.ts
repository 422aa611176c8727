/**
 * hutch-gpu-hook: the OCI hook that gives a container the NVIDIA GPUs it asks for. It
 * reads the container's state from stdin (as every runtime passes it: hutch, runc,
 * crun), then `<bundle>/config.json`, and when the container asks for GPUs
 * (NVIDIA_VISIBLE_DEVICES / io.hutch.gpus, NVIDIA_DRIVER_CAPABILITIES):
 *   1. discovers the device nodes and the driver files for those capabilities;
 *   2. allows the devices in the container's cgroup (v1: its devices.allow; on v2 the
 *      runtime's own device rules apply — the GPU injector puts them in the spec);
 *   3. runs hutch-nsmount, which enters the container's mount namespace and binds the
 *      device nodes, binds the libraries and programs read-only, recreates the
 *      driver's symlinks and updates the linker cache with the host's ldconfig.
 *
 * usage:
 *   hutch-gpu-hook prestart|createRuntime [--settings=JSON] [--config=FILE]
 *   hutch-gpu-hook poststart|poststop                      (nothing to do)
 *   hutch-gpu-hook create-symlinks --link TARGET::PATH…    (createContainer, from a CDI spec)
 *   hutch-gpu-hook update-ldcache --folder DIR…            (createContainer, from a CDI spec)
 * Discovery settings: --settings (what the injector passes), else the gpu section of
 * hutch's configuration (--config, $HUTCH_CONFIG, /etc/hutch/config.*), else defaults.
 * Errors: one line "hutch-gpu-hook: …" on stderr, exit status 1.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { nsmountPath } from '../addon/index';
import { HutchError } from '../runtime/errors';
import type { Spec } from '../runtime/spec/types';
import { loadConfig, settingsFor } from '../plugins/config';
import { deviceRules, devicesFor, nsmountOps } from '../plugins/gpu/apply';
import { discoverGpus, selectGpus } from '../plugins/gpu/discover';
import { gpuRequest } from '../plugins/gpu/request';
import { readGpuSettings, type GpuSettings } from '../plugins/injectors/settings';
import { SettingsReader } from '../plugins/settings';
import type { DeviceRule } from '../runtime/spec/types';

interface HookState {
  pid?: number;
  bundle?: string;
  /** the legacy name of `bundle` */
  bundlePath?: string;
  annotations?: Record<string, string>;
}

function fail(message: string): never {
  throw new HutchError('', message);
}

function option(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === `--${name}`) out.push(args[++i] ?? fail(`--${name} needs a value`));
    else if (args[i].startsWith(`--${name}=`)) out.push(args[i].slice(name.length + 3));
  }
  return out;
}

function readState(): HookState {
  let text: string;
  try {
    text = fs.readFileSync(0, 'utf8');
  } catch (e) {
    fail(`reading the container state from stdin: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as HookState;
  } catch (e) {
    fail(`the container state on stdin is not JSON: ${(e as Error).message}`);
  }
}

function readBundle(state: HookState): { spec: Spec; rootfs: string } {
  const bundle = state.bundle ?? state.bundlePath;
  if (!bundle) fail('the container state has no bundle');
  const file = path.resolve(bundle, 'config.json');
  let spec: Spec;
  try {
    spec = JSON.parse(fs.readFileSync(file, 'utf8')) as Spec;
  } catch (e) {
    fail(`reading ${file}: ${(e as Error).message}`);
  }
  if (!spec.root?.path) fail(`${file}: root.path is missing`);
  // a relative root.path is relative to the bundle (runc runs hooks with the bundle as cwd)
  return { spec, rootfs: path.resolve(bundle, spec.root.path) };
}

function gpuSettings(args: string[]): GpuSettings {
  const json = option(args, 'settings').pop();
  if (json !== undefined) {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (e) {
      fail(`--settings: not JSON: ${(e as Error).message}`);
    }
    return readGpuSettings(raw, new SettingsReader('--settings', ''));
  }
  const config = loadConfig(option(args, 'config').pop() ?? process.env.HUTCH_CONFIG);
  return settingsFor(config, 'injector', 'gpu') as GpuSettings;
}

/** The container's devices cgroup directory on a v1 host; undefined on a unified (v2) host. */
export function devicesCgroupDir(pid: number, procRoot = '/proc'): string | undefined {
  const own = fs.readFileSync(path.join(procRoot, String(pid), 'cgroup'), 'utf8');
  const line = own.split('\n').find((l) => l.split(':')[1]?.split(',').includes('devices'));
  if (!line) return undefined;
  const cgroupPath = line.split(':').slice(2).join(':');
  for (const m of fs.readFileSync(path.join(procRoot, 'self', 'mountinfo'), 'utf8').split('\n')) {
    const [pre, post] = m.split(' - ');
    if (!post) continue;
    const [fstype, , superOptions] = post.split(' ');
    if (fstype !== 'cgroup' || !superOptions?.split(',').includes('devices')) continue;
    const fields = pre.split(' ');
    const [root, mountPoint] = [fields[3], fields[4]];
    const rel = root === '/' ? cgroupPath : path.posix.relative(root, cgroupPath);
    if (rel.startsWith('..')) continue;
    return path.join(mountPoint, rel);
  }
  return undefined;
}

function allowDevices(pid: number, rules: DeviceRule[]): void {
  const dir = devicesCgroupDir(pid);
  if (!dir || dir === path.dirname(dir)) return; // v2, or the root cgroup: nothing to open up
  const file = path.join(dir, 'devices.allow');
  for (const r of rules) {
    const line = `${r.type} ${r.major}:${r.minor} ${r.access}`;
    try {
      fs.writeFileSync(file, line);
    } catch (e) {
      fail(`allowing device ${line} in ${file}: ${(e as Error).message}`);
    }
  }
}

function runNsmount(pid: number | '-', rootfs: string, ops: string[]): void {
  if (!ops.length) return;
  const helper = nsmountPath();
  const r = spawnSync(helper, [String(pid), rootfs, ...ops], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (r.error) fail(`running ${helper}: ${r.error.message}`);
  if (r.status !== 0) fail((r.stderr || `${helper} exited with status ${r.status ?? r.signal}`).trim().split('\n').pop()!);
}

function prestart(args: string[]): void {
  const state = readState();
  if (!state.pid || state.pid <= 0) fail('the container state has no pid');
  const { spec, rootfs } = readBundle(state);
  const request = gpuRequest(spec.process?.env, state.annotations ?? spec.annotations ?? {});
  if (!request) return;
  const settings = gpuSettings(args);
  const found = discoverGpus(settings, request.capabilities);
  const gpus = selectGpus(found, request, settings);
  allowDevices(state.pid, deviceRules(devicesFor(found, gpus)));
  runNsmount(state.pid, rootfs, nsmountOps(found, gpus, settings));
}

/** createContainer: already in the container's mount namespace, before pivot_root. */
function inContainer(kind: 'create-symlinks' | 'update-ldcache', args: string[]): void {
  const { rootfs } = readBundle(readState());
  const ops: string[] = [];
  if (kind === 'create-symlinks') {
    for (const link of option(args, 'link')) {
      const at = link.indexOf('::');
      if (at <= 0) fail(`--link ${link}: want TARGET::PATH`);
      ops.push('link', link.slice(0, at), link.slice(at + 2));
    }
  } else {
    const ldconfig = option(args, 'ldconfig').pop() ?? '/sbin/ldconfig';
    for (const dir of option(args, 'folder')) ops.push('lddir', dir);
    if (fs.existsSync(ldconfig)) ops.push('ldconfig', ldconfig);
  }
  runNsmount('-', rootfs, ops);
}

export function main(argv: string[]): number {
  const [stage, ...args] = argv;
  try {
    switch (stage) {
      case 'prestart':
      case 'createRuntime':
        prestart(args);
        break;
      case 'poststart':
      case 'poststop':
        break;
      case 'create-symlinks':
      case 'update-ldcache':
        inContainer(stage, args);
        break;
      default:
        fail(`unknown stage "${stage ?? ''}" (usage: hutch-gpu-hook prestart|createRuntime|poststart|poststop|create-symlinks|update-ldcache)`);
    }
    return 0;
  } catch (e) {
    process.stderr.write(`hutch-gpu-hook: ${e instanceof HutchError ? e.message : (e as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
