/**
 * A container's network plugin: chosen at create from `io.hutch.network` or the
 * configured default (only for a new network namespace — a joined one belongs to
 * whoever made it), found again at delete from the result saved in the state. The
 * built-ins are made directly; a user's plugin comes from the registry.
 */
import type { NetworkPlugin, NetworkResult } from '../../plugins/network/plugin';
import type { HutchConfig } from '../../plugins/config';
import { HutchError } from '../errors';
import type { Spec } from '../spec/types';

const BUILTIN = new Set(['bridge', 'cni', 'none']);
const NETWORK_ANNOTATION = 'io.hutch.network';

function config(configPath?: string): HutchConfig {
  return (require('../../plugins/config') as typeof import('../../plugins/config')).loadConfig(configPath);
}

async function userPlugin(cfg: HutchConfig, name: string): Promise<NetworkPlugin | null> {
  const { registryFor } = require('../../plugins/inject') as typeof import('../../plugins/inject');
  const { quietLog } = require('../../plugins/plugin') as typeof import('../../plugins/plugin');
  return (await registryFor(cfg, quietLog).get<NetworkPlugin>('network', name)) ?? null;
}

function newNetworkNamespace(spec: Spec): boolean {
  return (spec.linux?.namespaces ?? []).some((n) => n.type === 'network' && !n.path);
}

/** The plugin for a new container, or null for none (bad settings throw, naming them). */
export async function networkForCreate(op: string, spec: Spec, configPath?: string): Promise<NetworkPlugin | null> {
  const annotations = spec.annotations ?? {};
  const asked = annotations[NETWORK_ANNOTATION];
  if (!newNetworkNamespace(spec)) {
    if (asked && asked.trim() !== 'none') {
      throw new HutchError(op, `annotations["${NETWORK_ANNOTATION}"]: "${asked}" needs a new network namespace in linux.namespaces`, {
        kind: 'invalid-argument',
        field: `annotations["${NETWORK_ANNOTATION}"]`,
      });
    }
    return null;
  }
  const cfg = config(configPath);
  // most containers get no network from hutch (their caller makes it): skip loading the plugins
  if ((asked === undefined || asked.trim() === 'none') && !cfg.network.use && !spec.annotations?.['io.hutch.ports']) return null;
  const select = require('../../plugins/network/select') as typeof import('../../plugins/network/select');
  const name = select.networkPluginName(asked ?? cfg.network.use ?? 'none');
  if (!BUILTIN.has(name)) {
    (require('../../plugins/config') as typeof import('../../plugins/config')).pluginFor(cfg, 'network', annotations);
    return userPlugin(cfg, name);
  }
  return select.networkPluginFor(annotations, select.networkConfigOf(cfg), op);
}

/** The plugin that made `result` (saved in the state), to tear it down. */
export async function networkForDelete(result: NetworkResult, configPath?: string): Promise<NetworkPlugin | null> {
  const cfg = config(configPath);
  const select = require('../../plugins/network/select') as typeof import('../../plugins/network/select');
  const name = select.networkPluginName(result.plugin);
  if (!BUILTIN.has(name)) return userPlugin(cfg, name);
  return select.networkPluginByName(result.plugin, select.networkConfigOf(cfg));
}
