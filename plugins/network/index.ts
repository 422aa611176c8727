/** The network plugin kind: selection, the bridge, CNI and none built-ins. See plugin.ts and docs/network.md. */
export type { NetworkPlugin, NetworkRequest, NetworkResult, NetworkTeardownRequest } from './plugin';
export type { NetworkConfig, BridgeConfig, CniConfig } from './config';
export { NETWORK_ANNOTATION } from './annotations';
export { PORTS_ANNOTATION, parsePorts, type PortMapping } from './ports';
export {
  networkConfigOf,
  networkPluginByName,
  networkPluginFor,
  networkPluginName,
  parseNetworkSelection,
  type NetworkSelection,
} from './select';
export { readBridgeSettings, readCniSettings } from './settings';
export { BridgePlugin, type BridgePluginOptions, type BridgeResultData } from './bridge/plugin';
export { CniPlugin, type CniResultData } from './cni/plugin';
export { NoNetworkPlugin } from './none';
