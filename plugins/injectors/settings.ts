/**
 * Settings of the built-in injectors (`injectors.<name>` in the configuration), read
 * without loading the injectors themselves so a bad key is reported at once.
 *
 * Example (config.yaml):
 *   injectors:
 *     cdi: { specDirs: [/etc/cdi, /var/run/cdi] }
 *     gpu: { driverRoot: /, stage: prestart }
 */
import * as path from 'node:path';
import { packageRoot } from '../package-root';
import type { SettingsReader } from '../settings';

export const DEFAULT_HOOKS_DIRS = ['/usr/share/containers/oci/hooks.d', '/etc/containers/oci/hooks.d'];
export const DEFAULT_CDI_DIRS = ['/etc/cdi', '/var/run/cdi'];

export interface HooksDirSettings {
  /** in increasing precedence: a file name in a later directory masks the same name in an earlier one */
  dirs: string[];
  /** where hooks asking for `prestart` go (podman ≥ 5 puts them into createRuntime) */
  prestartStage: 'prestart' | 'createRuntime';
}

export function readHooksDirSettings(raw: unknown, at: SettingsReader): HooksDirSettings {
  const obj = at.object(raw, ['dirs', 'prestartStage']);
  return {
    dirs: at.child('dirs').absolutePaths(obj.dirs, DEFAULT_HOOKS_DIRS),
    prestartStage: at.child('prestartStage').oneOf(obj.prestartStage, ['prestart', 'createRuntime'] as const, 'prestart'),
  };
}

export interface CdiSettings {
  /** in increasing priority: a device defined in a later directory wins */
  specDirs: string[];
}

export function readCdiSettings(raw: unknown, at: SettingsReader): CdiSettings {
  const obj = at.object(raw, ['specDirs']);
  return { specDirs: at.child('specDirs').absolutePaths(obj.specDirs, DEFAULT_CDI_DIRS) };
}

/** Where the GPU discovery looks; every root is configurable so tests can use a stand-in tree. */
export interface GpuSettings {
  /** root of the driver's libraries and programs on the host */
  driverRoot: string;
  /** directory holding nvidia* device nodes */
  devRoot: string;
  /** procfs holding driver/nvidia/gpus/<bus>/information (GPU UUID → minor) */
  procRoot: string;
  /** library directories, as paths under driverRoot (also their place in the container) */
  libDirs: string[];
  /** program directories, as paths under driverRoot */
  binDirs: string[];
  /** host ldconfig run inside the container's root to update its linker cache ("" to skip) */
  ldconfig: string;
  /** the OCI hook program injected into containers that ask for GPUs */
  hookPath: string;
  /** the hook stage: prestart (default; what every runtime runs) or createRuntime */
  stage: 'prestart' | 'createRuntime';
}

function multiarch(): string {
  return process.arch === 'arm64' ? 'aarch64-linux-gnu' : 'x86_64-linux-gnu';
}

export function defaultGpuSettings(): GpuSettings {
  return {
    driverRoot: '/',
    devRoot: '/dev',
    procRoot: '/proc',
    libDirs: [`/usr/lib/${multiarch()}`, '/usr/lib64', '/usr/lib', `/lib/${multiarch()}`, '/lib64'],
    binDirs: ['/usr/bin', '/usr/sbin'],
    ldconfig: '/sbin/ldconfig',
    hookPath: path.join(packageRoot(), 'bin', 'hutch-gpu-hook'),
    stage: 'prestart',
  };
}

export const GPU_SETTING_KEYS = ['driverRoot', 'devRoot', 'procRoot', 'libDirs', 'binDirs', 'ldconfig', 'hookPath', 'stage'] as const;

export function readGpuSettings(raw: unknown, at: SettingsReader): GpuSettings {
  const obj = at.object(raw, GPU_SETTING_KEYS);
  const d = defaultGpuSettings();
  const ldconfig = at.child('ldconfig').string(obj.ldconfig, d.ldconfig);
  return {
    driverRoot: at.child('driverRoot').absolutePath(obj.driverRoot, d.driverRoot),
    devRoot: at.child('devRoot').absolutePath(obj.devRoot, d.devRoot),
    procRoot: at.child('procRoot').absolutePath(obj.procRoot, d.procRoot),
    libDirs: at.child('libDirs').absolutePaths(obj.libDirs, d.libDirs),
    binDirs: at.child('binDirs').absolutePaths(obj.binDirs, d.binDirs),
    ldconfig: ldconfig === '' ? '' : at.child('ldconfig').absolutePath(ldconfig, d.ldconfig),
    hookPath: at.child('hookPath').absolutePath(obj.hookPath, d.hookPath),
    stage: at.child('stage').oneOf(obj.stage, ['prestart', 'createRuntime'] as const, d.stage),
  };
}
