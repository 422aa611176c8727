/**
 * The built-in plugins, by kind and name. Each entry is light: the implementation is
 * `require`d only when the plugin is used, and an injector's `wants` decides from the
 * spec alone whether it has anything to do, so `create` pays nothing for injectors
 * that do not apply to a container.
 * Every kind has its built-ins here: cgroup managers, snapshotters, network plugins
 * and spec injectors.
 */
import * as fs from 'node:fs';
import type { Spec } from '../runtime/spec/types';
import type { InjectionContext } from './injectors/injector';
import type { PluginClass, PluginKind } from './plugin';
import type { SettingsReader } from './settings';
import { readCdiSettings, readGpuSettings, readHooksDirSettings, type CdiSettings, type GpuSettings, type HooksDirSettings } from './injectors/settings';
import { gpuRequest } from './gpu/request';
import { readBridgeSettings, readCniSettings } from './network/settings';

export interface BuiltinPlugin {
  kind: PluginKind;
  name: string;
  summary: string;
  load(): PluginClass;
  /** validates `<kind>.<name>` settings without loading the implementation */
  readSettings?(raw: unknown, at: SettingsReader): unknown;
  /** injectors: whether there is anything to do for this container (cheap; no module load) */
  wants?(spec: Spec, context: InjectionContext, settings: any): boolean;
  // `any` above: each entry's settings type is its own; readSettings produced it.
}

/** Annotations that request CDI devices: any key with this prefix, or hutch's own. */
export const CDI_ANNOTATION_PREFIX = 'cdi.k8s.io/';
export const CDI_DEVICES_ANNOTATION = 'io.hutch.cdi.devices';

export const BUILTINS: readonly BuiltinPlugin[] = [
  {
    kind: 'injector',
    name: 'hooksd',
    summary: 'OCI hooks from hooks.d directories (podman/CRI-O oci-hooks format)',
    load: () => require('./injectors/hooksd').HooksDirInjector,
    readSettings: readHooksDirSettings,
    wants: (_spec, _context, settings: HooksDirSettings) => settings.dirs.some((d) => fs.existsSync(d)),
  },
  {
    kind: 'injector',
    name: 'cdi',
    summary: 'Container Device Interface devices requested by annotation',
    load: () => require('./injectors/cdi/injector').CdiInjector,
    readSettings: readCdiSettings,
    wants: (_spec, context) => Object.keys(context.annotations).some((k) => k.startsWith(CDI_ANNOTATION_PREFIX) || k === CDI_DEVICES_ANNOTATION),
  },
  {
    kind: 'injector',
    name: 'gpu',
    summary: 'NVIDIA GPUs requested by NVIDIA_VISIBLE_DEVICES or io.hutch.gpus (prestart hook)',
    load: () => require('./injectors/gpu').GpuInjector,
    readSettings: readGpuSettings,
    wants: (spec, context) => gpuRequest(spec.process?.env, context.annotations) !== undefined,
  },
  { kind: 'cgroup', name: 'v1', summary: 'cgroup v1 (and hybrid) hierarchies', load: () => require('./cgroup/registered').RegisteredV1Manager },
  { kind: 'cgroup', name: 'v2', summary: 'the unified cgroup v2 hierarchy', load: () => require('./cgroup/registered').RegisteredV2Manager },
  { kind: 'cgroup', name: 'none', summary: 'no cgroup management', load: () => require('./cgroup/registered').RegisteredNoManager },
  { kind: 'snapshotter', name: 'overlayfs', summary: 'overlay file system snapshots', load: () => require('./snapshotter/registered').RegisteredOverlaySnapshotter },
  { kind: 'snapshotter', name: 'native', summary: 'plain copies', load: () => require('./snapshotter/registered').RegisteredNativeSnapshotter },
  {
    kind: 'network',
    name: 'bridge',
    summary: 'veth + bridge + IPAM + NAT + published ports',
    load: () => require('./network/bridge/plugin').BridgePlugin,
    readSettings: readBridgeSettings,
  },
  {
    kind: 'network',
    name: 'cni',
    summary: 'the standard CNI plugin binaries (io.hutch.network=cni:<network>)',
    load: () => require('./network/cni/plugin').CniPlugin,
    readSettings: readCniSettings,
  },
  { kind: 'network', name: 'none', summary: 'no network: the empty namespace', load: () => require('./network/none').NoNetworkPlugin },
];

/** The default order of the built-in injectors. */
export const BUILTIN_INJECTORS = BUILTINS.filter((b) => b.kind === 'injector').map((b) => b.name);

export function builtin(kind: PluginKind, name: string): BuiltinPlugin | undefined {
  return BUILTINS.find((b) => b.kind === kind && b.name === name);
}

export type { CdiSettings, GpuSettings, HooksDirSettings };
