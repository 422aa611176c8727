/**
 * Which network plugin a container gets: the `io.hutch.network` annotation
 * (`bridge`, `cni:<name>`, `cni`, `none`), else the configured default
 * (`network.use` in the configuration file), else none. `io.hutch.ports` is checked
 * here too, so bad input fails before anything is started.
 *
 * Example:
 *   const net = networkConfigOf(loadConfig(globals.config));
 *   const plugin = networkPluginFor({ 'io.hutch.network': 'cni:podman', 'io.hutch.ports': '8080:80' }, net);
 *   plugin?.name // "cni"
 *   // at delete, from the saved result (result.plugin is "cni:podman"):
 *   networkPluginByName(record.network.plugin, net)
 */
import { HutchError } from '../../runtime/errors';
import { NETWORK_ANNOTATION } from './annotations';
import { BridgePlugin } from './bridge/plugin';
import { CniPlugin } from './cni/plugin';
import type { HutchConfig } from '../config';
import type { BridgeConfig, CniConfig, NetworkConfig } from './config';
import type { NetworkPlugin } from './plugin';
import { parsePorts, PORTS_ANNOTATION } from './ports';

/** `network` undefined: the configured `network.cni.network`. */
export type NetworkSelection = { kind: 'none' } | { kind: 'bridge' } | { kind: 'cni'; network?: string };

/** Parses `bridge`, `cni`, `cni:<name>` or `none`; `setting` names where the value came from. */
export function parseNetworkSelection(value: string, setting: string, op = 'create'): NetworkSelection {
  const v = value.trim();
  if (v === 'none' || v === '') return { kind: 'none' };
  if (v === 'bridge') return { kind: 'bridge' };
  if (v === 'cni') return { kind: 'cni' };
  const m = /^cni:(.+)$/.exec(v);
  if (m && /^[\w.+-]+$/.test(m[1])) return { kind: 'cni', network: m[1] };
  throw new HutchError(op, `${setting}: "${value}" is not bridge, cni:<network name> or none`, { kind: 'invalid-argument', field: setting });
}

/**
 * The registry name of the plugin behind an `io.hutch.network` value or a saved
 * `result.plugin`: "cni:lab" → "cni", "bridge" → "bridge"; a user plugin's name as is.
 */
export function networkPluginName(value: string): string {
  return value.trim().replace(/:.*$/s, '');
}

/** hutch's configuration file, as the network plugins' own settings. */
export function networkConfigOf(config: HutchConfig): NetworkConfig {
  return {
    default: config.network.use,
    bridge: config.network.settings.bridge as BridgeConfig | undefined,
    cni: config.network.settings.cni as CniConfig | undefined,
  };
}

function pluginFor(selection: NetworkSelection, config: NetworkConfig): NetworkPlugin | null {
  switch (selection.kind) {
    case 'none':
      return null;
    case 'bridge':
      return new BridgePlugin(config.bridge);
    case 'cni':
      return new CniPlugin({ ...config.cni, network: selection.network ?? config.cni?.network });
  }
}

/**
 * The plugin for a container with these annotations, or null for no networking.
 * Throws (naming the annotation or setting) on a bad value, and on published ports
 * without a network.
 */
export function networkPluginFor(annotations: Record<string, string> | undefined, config: NetworkConfig = {}, op = 'create'): NetworkPlugin | null {
  const a = annotations ?? {};
  const selection =
    a[NETWORK_ANNOTATION] !== undefined
      ? parseNetworkSelection(a[NETWORK_ANNOTATION], NETWORK_ANNOTATION, op)
      : parseNetworkSelection(config.default ?? 'none', 'network.default', op);
  const ports = parsePorts(a[PORTS_ANNOTATION], op);
  if (ports.length && selection.kind === 'none') {
    throw new HutchError(op, `${PORTS_ANNOTATION}: ports are published but the container has no network (set ${NETWORK_ANNOTATION})`, {
      kind: 'invalid-argument',
      field: PORTS_ANNOTATION,
    });
  }
  return pluginFor(selection, config);
}

/** The plugin that made a saved result (`result.plugin`: "bridge" or "cni:<name>"). */
export function networkPluginByName(name: string, config: NetworkConfig = {}, op = 'delete'): NetworkPlugin | null {
  return pluginFor(parseNetworkSelection(name, 'network.plugin', op), config);
}
