/**
 * Finding an NVIDIA driver on the host, without the driver's own tools: device nodes
 * under `devRoot` (/dev/nvidia<N>, nvidiactl, nvidia-uvm, nvidia-uvm-tools,
 * nvidia-modeset), GPU UUIDs and bus order from `procRoot`/driver/nvidia/gpus/<bus>/information,
 * and the libraries and programs each driver capability needs under `driverRoot`.
 * Every root is a setting, so tests point discovery at a stand-in tree (device nodes
 * made with mknod, stand-in libraries). The GPU hook, the GPU injector and
 * `hutch cdi generate` share it.
 *
 * Example:
 *   const found = discoverGpus(settings, ['utility', 'compute']);
 *   found.gpus[0] → { index: 0, minor: 0, uuid: 'GPU-…', node: { hostPath: '/dev/nvidia0', containerPath: '/dev/nvidia0', major: 195, minor: 0 } }
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import { deviceNumbers } from '../device-number';
import type { GpuSettings } from '../injectors/settings';
import { DRIVER_CAPABILITIES, type GpuRequest } from './request';

export interface DeviceFile {
  hostPath: string;
  /** where it appears in the container (/dev/<name>) */
  containerPath: string;
  type: 'c';
  major: number;
  minor: number;
  /** permission bits of the host node */
  mode: number;
}

export interface Gpu {
  /** enumeration index (PCI bus order, as nvidia-smi numbers them) */
  index: number;
  uuid?: string;
  busId?: string;
  model?: string;
  node: DeviceFile;
}

export interface DriverFile {
  hostPath: string;
  containerPath: string;
  /** a symlink is recreated in the container with this target instead of being mounted */
  linkTarget?: string;
  capability: string;
}

export interface Discovery {
  gpus: Gpu[];
  /** nvidiactl and the other per-driver nodes that exist */
  controlDevices: DeviceFile[];
  files: DriverFile[];
  /** container directories holding libraries (for the linker cache) */
  libDirs: string[];
  /** the kernel module version, when procRoot tells */
  driverVersion?: string;
}

/** Library name stems per capability (libnvidia-container's lists). */
const LIBRARIES: Record<string, string[]> = {
  utility: ['libnvidia-ml', 'libnvidia-cfg'],
  compute: ['libcuda', 'libcudadebugger', 'libnvidia-opencl', 'libnvidia-ptxjitcompiler', 'libnvidia-fatbinaryloader', 'libnvidia-allocator', 'libnvidia-compiler', 'libnvidia-nvvm', 'libnvidia-gpucomp'],
  video: ['libvdpau_nvidia', 'libnvidia-encode', 'libnvidia-opticalflow', 'libnvcuvid'],
  graphics: [
    'libnvidia-eglcore',
    'libnvidia-glcore',
    'libnvidia-tls',
    'libnvidia-glsi',
    'libnvidia-fbc',
    'libnvidia-ifr',
    'libnvidia-rtcore',
    'libnvoptix',
    'libGLX_nvidia',
    'libEGL_nvidia',
    'libGLESv2_nvidia',
    'libGLESv1_CM_nvidia',
    'libnvidia-glvkspirv',
    'libnvidia-cbl',
  ],
  display: ['libnvidia-fbc'],
  ngx: ['libnvidia-ngx'],
  compat32: [],
};

const PROGRAMS: Record<string, string[]> = {
  utility: ['nvidia-smi', 'nvidia-debugdump', 'nvidia-persistenced'],
  compute: ['nvidia-cuda-mps-control', 'nvidia-cuda-mps-server'],
};

/** Unix sockets of the driver's daemons, mounted when present (utility, compute). */
const SOCKETS = ['/var/run/nvidia-persistenced/socket', '/var/run/nvidia-fabricmanager/socket'];

function deviceFile(devRoot: string, name: string): DeviceFile | undefined {
  const hostPath = path.join(devRoot, name);
  let st: fs.Stats;
  try {
    st = fs.statSync(hostPath);
  } catch {
    return undefined;
  }
  if (!st.isCharacterDevice()) return undefined;
  return { hostPath, containerPath: path.posix.join('/dev', name), type: 'c', ...deviceNumbers(st.rdev), mode: st.mode & 0o7777 };
}

interface ProcGpu {
  busId: string;
  uuid?: string;
  model?: string;
  minor?: number;
}

function readProcGpus(procRoot: string): ProcGpu[] {
  const dir = path.join(procRoot, 'driver', 'nvidia', 'gpus');
  let buses: string[];
  try {
    buses = fs.readdirSync(dir).sort();
  } catch {
    return [];
  }
  return buses.map((busId) => {
    const gpu: ProcGpu = { busId };
    let text = '';
    try {
      text = fs.readFileSync(path.join(dir, busId, 'information'), 'utf8');
    } catch {
      return gpu;
    }
    for (const line of text.split('\n')) {
      const m = /^([^:]+):\s*(.*)$/.exec(line);
      if (!m) continue;
      const [key, value] = [m[1].trim(), m[2].trim()];
      if (key === 'GPU UUID') gpu.uuid = value;
      else if (key === 'Model') gpu.model = value;
      else if (key === 'Device Minor' && /^\d+$/.test(value)) gpu.minor = Number(value);
    }
    return gpu;
  });
}

function findGpus(settings: GpuSettings): Gpu[] {
  let names: string[];
  try {
    names = fs.readdirSync(settings.devRoot);
  } catch {
    return [];
  }
  const nodes = names
    .filter((n) => /^nvidia[0-9]+$/.test(n))
    .map((n) => deviceFile(settings.devRoot, n))
    .filter((d): d is DeviceFile => d !== undefined);
  const proc = readProcGpus(settings.procRoot);
  if (proc.length && proc.every((p) => p.minor !== undefined)) {
    // The driver's view: bus order is NVML's index order; the minor names the node.
    return proc
      .map((p, index) => ({ p, index, node: nodes.find((n) => n.minor === p.minor) }))
      .filter((x) => x.node !== undefined)
      .map(({ p, index, node }) => ({ index, uuid: p.uuid, busId: p.busId, model: p.model, node: node! }));
  }
  return nodes.sort((a, b) => a.minor - b.minor).map((node, index) => ({ index, node }));
}

function driverVersion(procRoot: string): string | undefined {
  try {
    const text = fs.readFileSync(path.join(procRoot, 'driver', 'nvidia', 'version'), 'utf8');
    return /Kernel Module\s+([0-9][0-9.]*)/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

function hostPathOf(driverRoot: string, containerPath: string): string {
  return path.join(driverRoot, containerPath);
}

function findFiles(settings: GpuSettings, capabilities: readonly string[]): { files: DriverFile[]; libDirs: string[] } {
  const files: DriverFile[] = [];
  const libDirs: string[] = [];
  const seen = new Set<string>();
  const add = (containerPath: string, capability: string): void => {
    if (seen.has(containerPath)) return;
    const hostPath = hostPathOf(settings.driverRoot, containerPath);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(hostPath);
    } catch {
      return;
    }
    seen.add(containerPath);
    if (st.isSymbolicLink()) files.push({ hostPath, containerPath, linkTarget: fs.readlinkSync(hostPath), capability });
    else if (st.isFile() || st.isSocket()) files.push({ hostPath, containerPath, capability });
  };
  for (const capability of capabilities) {
    const stems = LIBRARIES[capability] ?? [];
    if (stems.length) {
      for (const dir of settings.libDirs) {
        let names: string[];
        try {
          names = fs.readdirSync(hostPathOf(settings.driverRoot, dir)).sort();
        } catch {
          continue;
        }
        let any = false;
        for (const name of names) {
          if (!stems.some((s) => name.startsWith(`${s}.so`) && (name.length === s.length + 3 || name[s.length + 3] === '.'))) continue;
          add(path.posix.join(dir, name), capability);
          any = true;
        }
        if (any && !libDirs.includes(dir)) libDirs.push(dir);
      }
    }
    for (const program of PROGRAMS[capability] ?? []) {
      const dir = settings.binDirs.find((d) => fs.existsSync(hostPathOf(settings.driverRoot, path.posix.join(d, program))));
      if (dir) add(path.posix.join(dir, program), capability);
    }
    if (capability === 'utility' || capability === 'compute') for (const socket of SOCKETS) add(socket, capability);
  }
  return { files, libDirs };
}

/** What the driver offers for these capabilities. Unknown capabilities are an error. */
export function discoverGpus(settings: GpuSettings, capabilities: readonly string[]): Discovery {
  const unknown = capabilities.filter((c) => !(DRIVER_CAPABILITIES as readonly string[]).includes(c));
  if (unknown.length) {
    throw new HutchError('', `NVIDIA_DRIVER_CAPABILITIES: unknown capability "${unknown[0]}" (known: ${DRIVER_CAPABILITIES.join(', ')}, all)`, { kind: 'invalid-argument' });
  }
  const control = ['nvidiactl', 'nvidia-uvm', 'nvidia-uvm-tools'];
  if (capabilities.includes('graphics') || capabilities.includes('display')) control.push('nvidia-modeset');
  return {
    gpus: findGpus(settings),
    controlDevices: control.map((n) => deviceFile(settings.devRoot, n)).filter((d): d is DeviceFile => d !== undefined),
    ...findFiles(settings, capabilities),
    driverVersion: driverVersion(settings.procRoot),
  };
}

/**
 * The GPUs a request names; errors name the request's source and what exists.
 * Throws when the driver is absent (no nvidiactl).
 */
export function selectGpus(found: Discovery, request: GpuRequest, settings: GpuSettings): Gpu[] {
  if (!found.controlDevices.some((d) => d.containerPath === '/dev/nvidiactl')) {
    throw new HutchError('', `${request.source}=${request.raw}: no NVIDIA driver on this host (${path.join(settings.devRoot, 'nvidiactl')} does not exist)`, {
      kind: 'failed-precondition',
      path: path.join(settings.devRoot, 'nvidiactl'),
    });
  }
  if (request.devices === 'none') return [];
  if (request.devices === 'all') return found.gpus;
  const have = found.gpus.length ? found.gpus.map((g) => `${g.index}${g.uuid ? ` (${g.uuid})` : ''}`).join(', ') : 'none';
  const out: Gpu[] = [];
  for (const id of request.devices) {
    let gpu: Gpu | undefined;
    if (/^[0-9]+$/.test(id)) gpu = found.gpus.find((g) => g.index === Number(id));
    else if (/^GPU-/i.test(id)) gpu = found.gpus.find((g) => g.uuid?.toLowerCase() === id.toLowerCase());
    else if (/^MIG-/i.test(id) || /^[0-9]+:[0-9]+$/.test(id)) {
      throw new HutchError('', `${request.source}: "${id}" is a MIG device; MIG devices are not supported (use a CDI spec for them)`, { kind: 'unimplemented' });
    } else {
      throw new HutchError('', `${request.source}: "${id}" is not a GPU index or UUID (want all, none, void, or a list like 0,1 or GPU-…)`, { kind: 'invalid-argument' });
    }
    if (!gpu) throw new HutchError('', `${request.source}: no GPU "${id}" on this host (GPUs: ${have})`, { kind: 'not-found' });
    if (!out.includes(gpu)) out.push(gpu);
  }
  return out;
}
