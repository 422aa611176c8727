/**
 * The network plugin kind: sets up a container's network namespace at the
 * createRuntime point of `create` and tears it down at `delete` — also after a crash,
 * from the result saved in the container's state.
 *
 * Example:
 *   const result = await plugin.setup({ id, netnsPath: `/proc/${pid}/ns/net`, pid, annotations });
 *   // ... state.json keeps `result` ...
 *   await plugin.teardown({ id, netnsPath, result });
 */
export interface NetworkRequest {
  /** container id */
  id: string;
  /** the container's network namespace, e.g. /proc/<pid>/ns/net */
  netnsPath: string;
  /** host pid of the container init */
  pid: number;
  annotations: Record<string, string>;
}

export interface NetworkResult {
  /** plugin that made it ("bridge", "cni:<name>") */
  plugin: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  /** CIDR addresses, e.g. "10.88.0.5/16" */
  ips: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: { nameservers?: string[]; search?: string[] };
  ports?: { host: number; container: number; protocol: 'tcp' | 'udp'; hostIP?: string }[];
  /** whatever teardown needs that the fields above do not say */
  data?: Record<string, unknown>;
}

export interface NetworkPlugin {
  readonly name: string;
  setup(request: NetworkRequest): Promise<NetworkResult>;
  /** Undoes setup; tolerates a namespace, link or rule that is already gone. */
  teardown(request: { id: string; netnsPath?: string; result: NetworkResult }): Promise<void>;
  /** Verifies the network is still as set up (CNI CHECK). */
  check?(request: NetworkRequest & { result: NetworkResult }): Promise<void>;
}
