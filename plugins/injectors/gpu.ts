/**
 * The GPU injector: for a container that asks for GPUs (NVIDIA_VISIBLE_DEVICES or
 * io.hutch.gpus, see plugins/gpu/request.ts), adds the hutch GPU hook
 * (bin/hutch-gpu-hook, hooks/gpu.ts) — the way nvidia-container-runtime's legacy mode
 * adds nvidia-container-runtime-hook — and the cgroup allow rules for the chosen
 * devices, so access also works where the hook cannot write device rules itself
 * (cgroup v2). The request is checked now (driver present, GPUs exist), so a bad one
 * fails `create` before anything is made.
 *
 * Stage: `prestart` by default. It runs at the same point as createRuntime (namespaces
 * and mounts made, before pivot_root, in the runtime's namespaces with the host pid of
 * the init), and every runtime a wrapped Docker or containerd may drive runs it —
 * including runc 1.0 and crun versions without createRuntime, and the NVIDIA tools
 * themselves look for their hook there. `injectors.gpu.stage: createRuntime` switches.
 *
 * Example:
 *   process.env: ["NVIDIA_VISIBLE_DEVICES=0"]
 *   → hooks.prestart += { path: "/usr/lib/hutch/bin/hutch-gpu-hook", args: ["hutch-gpu-hook", "prestart"] }
 *   → linux.resources.devices += { allow: true, type: "c", major: 195, minor: 0, access: "rw" }, …
 */
import * as path from 'node:path';
import type { Spec } from '../../runtime/spec/types';
import { deviceRules, devicesFor } from '../gpu/apply';
import { discoverGpus, selectGpus } from '../gpu/discover';
import { GPU_ANNOTATION, GPU_CAPABILITIES_ANNOTATION, gpuRequest } from '../gpu/request';
import type { PluginContext } from '../plugin';
import type { InjectionContext, SpecInjector } from './injector';
import { defaultGpuSettings, type GpuSettings } from './settings';

/** Hooks that already do this job: NVIDIA's own, or ours from an earlier pass. */
const GPU_HOOK_NAMES = new Set(['nvidia-container-runtime-hook', 'nvidia-container-toolkit', 'hutch-gpu-hook']);

/** The hook's arguments: the discovery settings travel along when they are not the defaults. */
export function gpuHookArgs(settings: GpuSettings, stage: string): string[] {
  const defaults = defaultGpuSettings();
  const differs = (Object.keys(defaults) as (keyof GpuSettings)[]).some(
    (k) => k !== 'hookPath' && k !== 'stage' && JSON.stringify(settings[k]) !== JSON.stringify(defaults[k]),
  );
  const args = ['hutch-gpu-hook', stage];
  if (differs) {
    const { hookPath: _hook, stage: _stage, ...discovery } = settings;
    args.push(`--settings=${JSON.stringify(discovery)}`);
  }
  return args;
}

function setEnv(spec: Spec, key: string, value: string): void {
  const env = (spec.process!.env ??= []);
  const kept = env.filter((e) => !e.startsWith(`${key}=`));
  kept.push(`${key}=${value}`);
  spec.process!.env = kept;
}

export class GpuInjector implements SpecInjector {
  readonly name = 'gpu';

  constructor(
    private readonly settings: GpuSettings,
    private readonly context: Pick<PluginContext, 'log'>,
  ) {}

  inject(spec: Spec, context: InjectionContext): Spec {
    const request = gpuRequest(spec.process?.env, context.annotations);
    if (!request || !spec.process) return spec;
    const existing = [...(spec.hooks?.prestart ?? []), ...(spec.hooks?.createRuntime ?? [])].find((h) => GPU_HOOK_NAMES.has(path.basename(h.path)));
    if (existing) {
      this.context.log.debug(`gpu: ${existing.path} is already a hook of container ${context.id}; not adding another`);
      return spec;
    }
    const found = discoverGpus(this.settings, request.capabilities);
    const gpus = selectGpus(found, request, this.settings);
    // The hook reads the request from config.json: make an annotation's request visible there.
    if (context.annotations[GPU_ANNOTATION] !== undefined) setEnv(spec, 'NVIDIA_VISIBLE_DEVICES', request.raw);
    if (context.annotations[GPU_CAPABILITIES_ANNOTATION] !== undefined) setEnv(spec, 'NVIDIA_DRIVER_CAPABILITIES', request.capabilities.join(','));
    spec.linux ??= {};
    const resources = (spec.linux.resources ??= {});
    (resources.devices ??= []).push(...deviceRules(devicesFor(found, gpus)));
    spec.hooks ??= {};
    (spec.hooks[this.settings.stage] ??= []).push({
      path: this.settings.hookPath,
      args: gpuHookArgs(this.settings, this.settings.stage),
      // hooks get exactly this environment: let `#!/usr/bin/env node` find this node
      env: [`PATH=${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`],
    });
    this.context.log.debug(`gpu: container ${context.id} gets ${gpus.length ? gpus.map((g) => g.index).join(',') : 'no'} GPU(s) (${request.source}=${request.raw}), capabilities ${request.capabilities.join(',')}`);
    return spec;
  }
}
