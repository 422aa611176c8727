/**
 * Which cgroup manager a container gets, and which one serves a handle later.
 * `cgroup.use` in hutch's configuration file or `io.hutch.cgroup` picks one: `auto`
 * (the host's: v2 on unified hosts, else v1), `v1`, `v2`, `none`, or a user plugin;
 * the handle in the container's state records a non-default choice, so every later
 * command finds the same manager.
 */
import type { HutchConfig } from '../config';
import { hostLayout } from './hierarchy';
import type { CgroupHandle, CgroupManager } from './manager';

const builtins: Record<string, () => CgroupManager> = {
  v1: () => new (require('./v1') as typeof import('./v1')).CgroupV1Manager(),
  v2: () => new (require('./v2') as typeof import('./v2')).CgroupV2Manager(),
  none: () => new (require('./none') as typeof import('./none')).NoCgroupManager(),
};

let hostDefault: CgroupManager | undefined;

export function defaultCgroupManager(): CgroupManager {
  hostDefault ??= builtins[hostLayout() === 'v2' ? 'v2' : 'v1']();
  return hostDefault;
}

async function userManager(name: string, config: HutchConfig): Promise<CgroupManager> {
  const { registryFor } = require('../inject') as typeof import('../inject');
  const { quietLog } = require('../plugin') as typeof import('../plugin');
  const manager = await registryFor(config, quietLog).get<CgroupManager>('cgroup', name);
  if (!manager) {
    const { HutchError } = require('../../runtime/errors') as typeof import('../../runtime/errors');
    throw new HutchError('create', `cgroup manager "${name}" does not apply on this host`, { kind: 'failed-precondition' });
  }
  return manager;
}

/** The manager for a new container: `name` from pluginFor(config, 'cgroup', annotations). */
export async function cgroupManagerNamed(name: string | undefined, config: () => HutchConfig): Promise<CgroupManager> {
  if (!name || name === 'auto') return defaultCgroupManager();
  return builtins[name] ? builtins[name]() : userManager(name, config());
}

/** The manager that made a handle (stored in state). User plugins come from the configuration in force. */
export async function cgroupManagerOf(handle: CgroupHandle): Promise<CgroupManager> {
  const name = handle.manager ?? (handle.version === 2 ? 'v2' : 'v1');
  if (builtins[name]) return builtins[name]();
  const { loadConfig } = require('../config') as typeof import('../config');
  return userManager(name, loadConfig());
}
