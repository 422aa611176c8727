/** The network plugin kind: selection, the bridge and CNI built-ins. See plugin.ts. */
export type { NetworkPlugin, NetworkRequest, NetworkResult, NetworkTeardownRequest } from './plugin';
export type { NetworkConfig, BridgeConfig, CniConfig } from './config';
export { NETWORK_ANNOTATION } from './annotations';
export { PORTS_ANNOTATION, parsePorts, type PortMapping } from './ports';
export { networkPluginFor, networkPluginByName, parseNetworkSelection, type NetworkSelection } from './select';
export { BridgePlugin, type BridgePluginOptions, type BridgeResultData } from './bridge/plugin';
export { CniPlugin, type CniResultData } from './cni/plugin';
