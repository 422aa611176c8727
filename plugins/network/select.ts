/**
 * Which network plugin a container gets: the `io.hutch.network` annotation
 * (`bridge`, `cni:<name>`, `none`), else the configured default (`network.default`),
 * else none. `io.hutch.ports` is checked here too, so bad input fails before
 * anything is started.
 *
 * Example:
 *   const plugin = networkPluginFor({ 'io.hutch.network': 'cni:podman', 'io.hutch.ports': '8080:80' }, config.network);
 *   plugin?.name // "cni:podman"
 *   // at delete, from the saved result:
 *   networkPluginByName(record.network.plugin, config.network)
 */
import { HutchError } from '../../runtime/errors';
import { NETWORK_ANNOTATION } from './annotations';
import { BridgePlugin } from './bridge/plugin';
import { CniPlugin } from './cni/plugin';
import type { NetworkConfig } from './config';
import type { NetworkPlugin } from './plugin';
import { parsePorts, PORTS_ANNOTATION } from './ports';

export type NetworkSelection = { kind: 'none' } | { kind: 'bridge' } | { kind: 'cni'; network: string };

/** Parses `bridge`, `cni:<name>` or `none`; `setting` names where the value came from. */
export function parseNetworkSelection(value: string, setting: string, op = 'create'): NetworkSelection {
  const v = value.trim();
  if (v === 'none' || v === '') return { kind: 'none' };
  if (v === 'bridge') return { kind: 'bridge' };
  const m = /^cni:(.+)$/.exec(v);
  if (m && /^[\w.+-]+$/.test(m[1])) return { kind: 'cni', network: m[1] };
  throw new HutchError(op, `${setting}: "${value}" is not bridge, cni:<network name> or none`, { kind: 'invalid-argument', field: setting });
}

function pluginFor(selection: NetworkSelection, config: NetworkConfig): NetworkPlugin | null {
  switch (selection.kind) {
    case 'none':
      return null;
    case 'bridge':
      return new BridgePlugin(config.bridge);
    case 'cni':
      return new CniPlugin(selection.network, config.cni);
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
