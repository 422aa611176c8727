/**
 * What GPUs a container asks for, read the way the NVIDIA container toolkit reads it:
 * `NVIDIA_VISIBLE_DEVICES` in process.env (`all`, `none`, `void`/empty, or a comma list
 * of indexes and UUIDs), the legacy CUDA image rule, and `NVIDIA_DRIVER_CAPABILITIES`.
 * hutch's own annotations `io.hutch.gpus` and `io.hutch.gpu.capabilities` take
 * precedence over the environment. Light on purpose: `create` calls it on every
 * container to decide whether the GPU injector has anything to do.
 *
 * Example:
 *   gpuRequest(['NVIDIA_VISIBLE_DEVICES=0,GPU-8f3a'], {})
 *     → { devices: ['0', 'GPU-8f3a'], capabilities: ['utility', 'compute'], source: 'env', ... }
 */
export const GPU_ANNOTATION = 'io.hutch.gpus';
export const GPU_CAPABILITIES_ANNOTATION = 'io.hutch.gpu.capabilities';

export const DRIVER_CAPABILITIES = ['compute', 'compat32', 'graphics', 'utility', 'video', 'display', 'ngx'] as const;
export type DriverCapability = (typeof DRIVER_CAPABILITIES)[number];
/** The toolkit's default when NVIDIA_DRIVER_CAPABILITIES is unset or empty. */
export const DEFAULT_CAPABILITIES: DriverCapability[] = ['utility', 'compute'];

export interface GpuRequest {
  /** 'all', 'none' (driver files and control devices, no GPU), or GPU indexes / UUIDs */
  devices: 'all' | 'none' | string[];
  capabilities: string[];
  /** where the request came from, for messages */
  source: string;
  /** the request as written ("0,1", "all"), to put back into NVIDIA_VISIBLE_DEVICES */
  raw: string;
}

/** The last value of `name` in a KEY=VALUE list (later entries win, as in execve's environment). */
export function envValue(env: readonly string[] | undefined, name: string): string | undefined {
  if (!env) return undefined;
  let found: string | undefined;
  const prefix = `${name}=`;
  for (const entry of env) if (entry.startsWith(prefix)) found = entry.slice(prefix.length);
  return found;
}

function parseDevices(raw: string): GpuRequest['devices'] | undefined {
  const value = raw.trim();
  if (value === '' || value === 'void') return undefined;
  if (value === 'all' || value === 'none') return value;
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function parseCapabilities(raw: string | undefined): string[] {
  const value = raw?.trim();
  if (!value) return [...DEFAULT_CAPABILITIES];
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (list.includes('all')) return [...DRIVER_CAPABILITIES];
  return [...new Set(list)];
}

/** The container's GPU request, or undefined when it asks for none. */
export function gpuRequest(env: readonly string[] | undefined, annotations: Record<string, string> | undefined): GpuRequest | undefined {
  const fromAnnotation = annotations?.[GPU_ANNOTATION];
  let raw: string | undefined;
  let source: string;
  if (fromAnnotation !== undefined) {
    raw = fromAnnotation;
    source = `annotation ${GPU_ANNOTATION}`;
  } else {
    raw = envValue(env, 'NVIDIA_VISIBLE_DEVICES');
    source = 'NVIDIA_VISIBLE_DEVICES';
    // Legacy CUDA images (CUDA_VERSION set, no NVIDIA_REQUIRE_CUDA) get every GPU.
    if (raw === undefined && envValue(env, 'CUDA_VERSION') !== undefined && envValue(env, 'NVIDIA_REQUIRE_CUDA') === undefined) {
      raw = 'all';
      source = 'CUDA_VERSION (legacy CUDA image)';
    }
  }
  if (raw === undefined) return undefined;
  const devices = parseDevices(raw);
  if (devices === undefined) return undefined;
  const capabilities = parseCapabilities(annotations?.[GPU_CAPABILITIES_ANNOTATION] ?? envValue(env, 'NVIDIA_DRIVER_CAPABILITIES'));
  return { devices, capabilities, source, raw: raw.trim() };
}
