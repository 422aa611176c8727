/**
 * A CDI spec for this host's NVIDIA GPUs, from the same discovery the GPU hook uses
 * (`hutch cdi generate`). Each GPU is a device named by its index (or UUID), plus
 * `all`; the driver's control devices, libraries and programs are spec-wide edits;
 * the driver's symlinks and the linker cache are made by createContainer hooks that
 * run hutch-gpu-hook. The result passes hutch's own CDI validation.
 *
 * Example:
 *   generateCdiSpec(discoverGpus(settings, ['utility','compute']), settings, { nameBy: 'index' })
 *   → { cdiVersion: '0.5.0', kind: 'nvidia.com/gpu', devices: [{ name: '0', … }, { name: 'all', … }], containerEdits: {…} }
 */
import type { CdiContainerEdits, CdiDeviceNode, CdiSpec } from '../injectors/cdi/spec-file';
import type { GpuSettings } from '../injectors/settings';
import type { DeviceFile, Discovery } from './discover';

export interface GenerateOptions {
  /** device names: GPU indexes ("0") or UUIDs ("GPU-…") */
  nameBy: 'index' | 'uuid';
  kind?: string;
}

function node(d: DeviceFile): CdiDeviceNode {
  // type/major/minor are read from hostPath when the spec is applied: uvm's major is dynamic
  return d.hostPath === d.containerPath ? { path: d.containerPath } : { path: d.containerPath, hostPath: d.hostPath };
}

export function generateCdiSpec(found: Discovery, settings: GpuSettings, options: GenerateOptions): CdiSpec {
  const devices = found.gpus.map((g) => {
    const name = options.nameBy === 'uuid' && g.uuid ? g.uuid : String(g.index);
    return { name, containerEdits: { deviceNodes: [node(g.node)] } };
  });
  if (found.gpus.length) devices.push({ name: 'all', containerEdits: { deviceNodes: found.gpus.map((g) => node(g.node)) } });
  const edits: CdiContainerEdits = {
    // the legacy GPU hooks (ours, NVIDIA's) must not act a second time on these containers
    env: ['NVIDIA_VISIBLE_DEVICES=void'],
    deviceNodes: found.controlDevices.map(node),
  };
  const mounts = found.files.filter((f) => f.linkTarget === undefined);
  if (mounts.length) {
    edits.mounts = mounts.map((f) => ({ hostPath: f.hostPath, containerPath: f.containerPath, options: ['ro', 'nosuid', 'nodev', 'bind'] }));
  }
  const hooks: NonNullable<CdiContainerEdits['hooks']> = [];
  const links = found.files.filter((f) => f.linkTarget !== undefined);
  if (links.length) {
    hooks.push({
      hookName: 'createContainer',
      path: settings.hookPath,
      args: ['hutch-gpu-hook', 'create-symlinks', ...links.flatMap((f) => ['--link', `${f.linkTarget}::${f.containerPath}`])],
    });
  }
  if (found.libDirs.length && settings.ldconfig) {
    hooks.push({
      hookName: 'createContainer',
      path: settings.hookPath,
      args: ['hutch-gpu-hook', 'update-ldcache', `--ldconfig=${settings.ldconfig}`, ...found.libDirs.flatMap((d) => ['--folder', d])],
    });
  }
  if (hooks.length) edits.hooks = hooks;
  if (!devices.length) {
    // CDI needs at least one device; with no GPU, "none" still gives the driver files.
    devices.push({ name: 'none', containerEdits: { deviceNodes: found.controlDevices.slice(0, 1).map(node) } });
  }
  return { cdiVersion: '0.5.0', kind: options.kind ?? 'nvidia.com/gpu', devices, containerEdits: edits };
}
