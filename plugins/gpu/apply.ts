/**
 * What the GPU hook does to a container, computed from a discovery: the operations
 * for hutch-nsmount (bind device nodes and driver files, recreate the driver's
 * symlinks, update the linker cache) and the cgroup device rules. Pure, so it is
 * unit-tested without root.
 *
 * Example:
 *   nsmountOps(found, gpus, settings) → ['dev', '/dev/nvidia0', '/dev/nvidia0', 'ro', '/usr/lib/…/libcuda.so.535', …, 'ldconfig', '/sbin/ldconfig']
 */
import * as fs from 'node:fs';
import type { DeviceRule } from '../../runtime/spec/types';
import type { GpuSettings } from '../injectors/settings';
import type { DeviceFile, Discovery, Gpu } from './discover';

/** The device nodes a container gets: the chosen GPUs, then the control devices. */
export function devicesFor(found: Discovery, gpus: readonly Gpu[]): DeviceFile[] {
  return [...gpus.map((g) => g.node), ...found.controlDevices];
}

/** cgroup allow rules ("rw": the nodes are bind-mounted, so no mknod right is needed). */
export function deviceRules(devices: readonly DeviceFile[]): DeviceRule[] {
  return devices.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: 'rw' }));
}

/** hutch-nsmount's operations (after PID and ROOTFS). */
export function nsmountOps(found: Discovery, gpus: readonly Gpu[], settings: GpuSettings): string[] {
  const ops: string[] = [];
  for (const d of devicesFor(found, gpus)) ops.push('dev', d.hostPath, d.containerPath);
  for (const f of found.files) {
    if (f.linkTarget !== undefined) ops.push('link', f.linkTarget, f.containerPath);
    else ops.push('ro', f.hostPath, f.containerPath);
  }
  if (settings.ldconfig && found.libDirs.length && fs.existsSync(settings.ldconfig)) {
    for (const dir of found.libDirs) ops.push('lddir', dir);
    ops.push('ldconfig', settings.ldconfig);
  }
  return ops;
}
