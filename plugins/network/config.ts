/**
 * Network settings, as the `network` section of hutch's configuration
 * (`/etc/hutch/config.*`). Every field is optional; `resolveBridgeConfig` and
 * `resolveCniConfig` fill in the defaults. Errors name settings as
 * `network.<section>.<field>`.
 *
 * Example:
 *   { default: 'bridge', bridge: { name: 'hutch0', subnet: '10.87.0.0/16' },
 *     cni: { confDir: '/etc/cni/net.d' } }
 */

export interface BridgeConfig {
  /** the Linux bridge (at most 15 characters); default "hutch0" */
  name?: string;
  /** IPv4 subnet in CIDR form; default "10.87.0.0/16" (podman's default is 10.88.0.0/16) */
  subnet?: string;
  /** the bridge's own address and the containers' gateway; default the subnet's first address */
  gateway?: string;
  /** MTU of the bridge and the veth pairs; default 1500 */
  mtu?: number;
  /** where allocations and records live (tmpfs: containers do not survive a reboot); default /run/hutch/network */
  stateDir?: string;
  /** interface name inside the container; default "eth0" */
  ifName?: string;
}

export interface CniConfig {
  /** the network for `io.hutch.network=cni` (without `:<name>`) and `network.use: cni` */
  network?: string;
  /** where network configuration lists are found by name; default /etc/cni/net.d */
  confDir?: string;
  /** where plugin binaries are looked up (CNI_PATH); default /usr/lib/cni, /opt/cni/bin */
  binDirs?: string[];
  /** cached ADD results for DEL and CHECK, as libcni keeps them; default /var/lib/cni */
  cacheDir?: string;
  /** interface name inside the container (CNI_IFNAME); default "eth0" */
  ifName?: string;
}

export interface NetworkConfig {
  /** used when a container has no io.hutch.network annotation: "none" (the default), "bridge", "cni" or "cni:<name>" */
  default?: string;
  bridge?: BridgeConfig;
  cni?: CniConfig;
}

export type ResolvedBridgeConfig = Required<Omit<BridgeConfig, 'gateway'>> & { gateway?: string };
export type ResolvedCniConfig = Required<Omit<CniConfig, 'network'>> & { network?: string };

export const DEFAULT_BRIDGE_NAME = 'hutch0';
export const DEFAULT_BRIDGE_SUBNET = '10.87.0.0/16';
export const DEFAULT_NETWORK_STATE_DIR = '/run/hutch/network';

export function resolveBridgeConfig(c: BridgeConfig = {}): ResolvedBridgeConfig {
  return {
    name: c.name ?? DEFAULT_BRIDGE_NAME,
    subnet: c.subnet ?? DEFAULT_BRIDGE_SUBNET,
    gateway: c.gateway,
    mtu: c.mtu ?? 1500,
    stateDir: c.stateDir ?? DEFAULT_NETWORK_STATE_DIR,
    ifName: c.ifName ?? 'eth0',
  };
}

export function resolveCniConfig(c: CniConfig = {}): ResolvedCniConfig {
  return {
    network: c.network,
    confDir: c.confDir ?? '/etc/cni/net.d',
    binDirs: c.binDirs ?? ['/usr/lib/cni', '/opt/cni/bin'],
    cacheDir: c.cacheDir ?? '/var/lib/cni',
    ifName: c.ifName ?? 'eth0',
  };
}
