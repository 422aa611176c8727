/**
 * Settings of the built-in network plugins (`network.bridge`, `network.cni` in
 * hutch's configuration), read without loading the plugins so a bad key is reported
 * at once, naming the file and the key.
 *
 * Example (config.yaml):
 *   network:
 *     use: bridge
 *     bridge: { name: hutch0, subnet: 10.87.0.0/16 }
 *     cni: { network: lab, confDir: /etc/cni/net.d }
 */
import { HutchError } from '../../runtime/errors';
import type { SettingsReader } from '../settings';
import { parseIpv4, parseSubnet } from './cidr';
import type { BridgeConfig, CniConfig } from './config';
import { isValidIfName } from './host';

export const BRIDGE_SETTING_KEYS = ['name', 'subnet', 'gateway', 'mtu', 'stateDir', 'ifName'] as const;
export const CNI_SETTING_KEYS = ['network', 'confDir', 'binDirs', 'cacheDir', 'ifName'] as const;

function ifName(at: SettingsReader, value: unknown): string | undefined {
  const s = at.string(value);
  if (s !== undefined && !isValidIfName(s)) throw at.fail(`"${s}" is not a valid interface name (1 to 15 characters, no "/", ":" or spaces)`);
  return s;
}

export function readBridgeSettings(raw: unknown, at: SettingsReader): BridgeConfig {
  const obj = at.object(raw, BRIDGE_SETTING_KEYS);
  const subnet = at.child('subnet').string(obj.subnet);
  if (subnet !== undefined) {
    try {
      parseSubnet('config', 'subnet', subnet);
    } catch (e) {
      throw at.child('subnet').fail((e as HutchError).detail.replace(/^subnet: /, ''));
    }
  }
  const gateway = at.child('gateway').string(obj.gateway);
  if (gateway !== undefined && parseIpv4(gateway) === undefined) throw at.child('gateway').fail(`"${gateway}" is not an IPv4 address`);
  let mtu: number | undefined;
  if (obj.mtu !== undefined) {
    if (typeof obj.mtu !== 'number' || !Number.isInteger(obj.mtu) || obj.mtu < 68 || obj.mtu > 65535) {
      throw at.child('mtu').fail(`must be a whole number from 68 to 65535, not ${JSON.stringify(obj.mtu)}`);
    }
    mtu = obj.mtu;
  }
  return {
    name: ifName(at.child('name'), obj.name),
    subnet,
    gateway,
    mtu,
    stateDir: at.child('stateDir').absolutePath(obj.stateDir),
    ifName: ifName(at.child('ifName'), obj.ifName),
  };
}

export function readCniSettings(raw: unknown, at: SettingsReader): CniConfig {
  const obj = at.object(raw, CNI_SETTING_KEYS);
  const network = at.child('network').string(obj.network);
  if (network !== undefined && !/^[\w.+-]+$/.test(network)) throw at.child('network').fail(`"${network}" is not a CNI network name`);
  return {
    network,
    confDir: at.child('confDir').absolutePath(obj.confDir),
    binDirs: obj.binDirs === undefined ? undefined : at.child('binDirs').absolutePaths(obj.binDirs, []),
    cacheDir: at.child('cacheDir').absolutePath(obj.cacheDir),
    ifName: ifName(at.child('ifName'), obj.ifName),
  };
}
