/**
 * Applying CDI container edits to an OCI spec, with the reference library's rules:
 * - env: `K=V` replaces an existing K, else is appended;
 * - deviceNodes: a missing type (or major/minor of a b/c device) is read by lstat of
 *   hostPath (or path); uid/gid default to process.user's when > 0; an entry replaces
 *   any linux.devices entry with the same path; b and c devices also get a
 *   linux.resources.devices allow rule (permissions, default "rwm"; "none" → no rule);
 * - mounts: a mount replaces any mount with the same destination; then all mounts are
 *   stable-sorted by the number of components of their destination;
 * - hooks: appended to their stage; additionalGids: added once each, 0 ignored;
 * - intelRdt replaces linux.intelRdt; netDevices go into linux.netDevices.
 *
 * Example:
 *   applyContainerEdits(spec, [specLevelEdits, deviceEdits]);
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../../runtime/errors';
import type { Device, Spec } from '../../../runtime/spec/types';
import { deviceNumbers } from '../../device-number';
import type { CdiContainerEdits, CdiDeviceNode } from './spec-file';

export type LstatFn = (p: string) => fs.Stats;

/** Fills a device node's type, major and minor from the host node (the library's fillMissingInfo). */
export function completeDeviceNode(node: CdiDeviceNode, lstat: LstatFn = fs.lstatSync): Required<Pick<CdiDeviceNode, 'path' | 'type' | 'major' | 'minor'>> & CdiDeviceNode {
  const hostPath = node.hostPath || node.path;
  let type = node.type ?? '';
  let major = node.major ?? 0;
  let minor = node.minor ?? 0;
  if (!(type !== '' && (major !== 0 || type === 'p'))) {
    let st: fs.Stats;
    try {
      st = lstat(hostPath);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new HutchError('', `device node ${node.path}: cannot stat host device ${hostPath}: ${err.message}`, { errno: err.code, path: hostPath });
    }
    const hostType = st.isBlockDevice() ? 'b' : st.isCharacterDevice() ? 'c' : st.isFIFO() ? 'p' : undefined;
    if (!hostType) throw new HutchError('', `device node ${node.path}: host path ${hostPath} is not a device node`, { kind: 'invalid-argument', path: hostPath });
    if (type === '') type = hostType;
    else if ((type === 'u' ? 'c' : type) !== hostType) {
      throw new HutchError('', `device node ${node.path}: type "${type}" does not match the host device ${hostPath} (type "${hostType}")`, { kind: 'invalid-argument', path: hostPath });
    }
    if (major === 0 && type !== 'p') {
      ({ major, minor } = deviceNumbers(st.rdev));
    }
  }
  return { ...node, hostPath, type, major, minor };
}

function setEnv(spec: Spec, entries: string[]): void {
  if (!spec.process) throw new HutchError('', 'the spec has no process to add environment variables to', { kind: 'invalid-argument', field: 'process' });
  const env = (spec.process.env ??= []);
  for (const entry of entries) {
    const key = entry.slice(0, entry.indexOf('='));
    let at = -1;
    env.forEach((e, i) => {
      if (e.slice(0, e.indexOf('=') < 0 ? e.length : e.indexOf('=')) === key) at = i;
    });
    if (at >= 0) env[at] = entry;
    else env.push(entry);
  }
}

function depth(destination: string): number {
  return (path.posix.normalize(destination).replace(/\/$/, '').match(/\//g) ?? []).length;
}

/** Applies the edits, in order, to `spec` (in place). */
export function applyContainerEdits(spec: Spec, list: CdiContainerEdits[], lstat: LstatFn = fs.lstatSync): Spec {
  const all: Required<Omit<CdiContainerEdits, 'intelRdt'>> & Pick<CdiContainerEdits, 'intelRdt'> = {
    env: [],
    deviceNodes: [],
    mounts: [],
    hooks: [],
    additionalGids: [],
    netDevices: [],
  };
  for (const e of list) {
    all.env.push(...(e.env ?? []));
    all.deviceNodes.push(...(e.deviceNodes ?? []));
    all.mounts.push(...(e.mounts ?? []));
    all.hooks.push(...(e.hooks ?? []));
    all.additionalGids.push(...(e.additionalGids ?? []));
    all.netDevices.push(...(e.netDevices ?? []));
    if (e.intelRdt) all.intelRdt = e.intelRdt;
  }

  if (all.env.length) setEnv(spec, all.env);

  for (const raw of all.deviceNodes) {
    const node = completeDeviceNode(raw, lstat);
    const dev: Device = { path: node.path, type: node.type, major: node.major, minor: node.minor };
    if (node.fileMode !== undefined) dev.fileMode = node.fileMode;
    const user = spec.process?.user;
    if (node.uid !== undefined) dev.uid = node.uid;
    else if (user && user.uid > 0) dev.uid = user.uid;
    if (node.gid !== undefined) dev.gid = node.gid;
    else if (user && user.gid > 0) dev.gid = user.gid;
    spec.linux ??= {};
    const devices = (spec.linux.devices ??= []);
    const at = devices.findIndex((d) => d.path === dev.path);
    if (at >= 0) devices[at] = dev;
    else devices.push(dev);
    if ((dev.type === 'b' || dev.type === 'c') && node.permissions !== 'none') {
      const resources = (spec.linux.resources ??= {});
      (resources.devices ??= []).push({ allow: true, type: dev.type, major: dev.major, minor: dev.minor, access: node.permissions || 'rwm' });
    }
  }

  if (all.netDevices.length) {
    spec.linux ??= {};
    const linux = spec.linux as { netDevices?: Record<string, { name: string }> };
    linux.netDevices ??= {};
    for (const n of all.netDevices) linux.netDevices[n.hostInterfaceName] = { name: n.name };
  }

  if (all.mounts.length) {
    let mounts = spec.mounts ?? [];
    for (const m of all.mounts) {
      const dest = path.posix.normalize(m.containerPath);
      mounts = mounts.filter((x) => path.posix.normalize(x.destination) !== dest);
      const mount: NonNullable<Spec['mounts']>[number] = { destination: m.containerPath, source: m.hostPath };
      if (m.type) mount.type = m.type;
      if (m.options) mount.options = [...m.options];
      mounts.push(mount);
    }
    // Array.prototype.sort is stable.
    spec.mounts = mounts.map((m, i) => ({ m, i })).sort((a, b) => depth(a.m.destination) - depth(b.m.destination) || a.i - b.i).map((x) => x.m);
  }

  for (const h of all.hooks) {
    spec.hooks ??= {};
    const hook: { path: string; args?: string[]; env?: string[]; timeout?: number } = { path: h.path };
    if (h.args) hook.args = [...h.args];
    if (h.env) hook.env = [...h.env];
    if (h.timeout !== undefined) hook.timeout = h.timeout;
    (spec.hooks[h.hookName] ??= []).push(hook);
  }

  if (all.intelRdt) {
    spec.linux ??= {};
    spec.linux.intelRdt = { ...all.intelRdt };
  }

  for (const gid of all.additionalGids) {
    if (gid === 0) continue;
    if (!spec.process) throw new HutchError('', 'the spec has no process to add groups to', { kind: 'invalid-argument', field: 'process' });
    const gids = (spec.process.user.additionalGids ??= []);
    if (!gids.includes(gid)) gids.push(gid);
  }
  return spec;
}
