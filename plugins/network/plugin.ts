/**
 * The network plugin kind: sets up a container's network namespace at the
 * createRuntime point of `create` and tears it down at `delete` — also after a crash,
 * from the result saved in the container's state, or with no result at all when
 * `create` died before saving it.
 *
 * Example:
 *   const plugin = networkPluginFor(spec.annotations ?? {}, config.network); // null: no networking
 *   record.network = { plugin: plugin.name, interfaces: [], ips: [] };     // save: "pending"
 *   record.network = await plugin.setup({ id, netnsPath: `/proc/${pid}/ns/net`, pid, annotations });
 *   // ... at delete (and in create's undo), with the full result or the placeholder:
 *   await networkPluginByName(record.network.plugin, config.network)
 *     ?.teardown({ id, netnsPath: `/proc/${pid}/ns/net`, result: record.network });
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
  /** plugin that made it ("bridge", "cni:<name>"): `networkPluginByName` takes it back */
  plugin: string;
  interfaces: { name: string; mac?: string; sandbox?: string }[];
  /** CIDR addresses, e.g. "10.87.0.5/16" */
  ips: { address: string; gateway?: string; interface?: number }[];
  routes?: { dst: string; gw?: string }[];
  dns?: { nameservers?: string[]; search?: string[] };
  ports?: { host: number; container: number; protocol: 'tcp' | 'udp'; hostIP?: string }[];
  /** whatever teardown needs that the fields above do not say */
  data?: Record<string, unknown>;
}

export interface NetworkTeardownRequest {
  id: string;
  /**
   * The namespace, when the caller still knows it. Plugins compare it with the
   * namespace they set up (a /proc/<pid> path may name another process by now) and
   * treat a mismatch or a missing file as "already gone".
   */
  netnsPath?: string;
  /** what setup returned; absent when create died before the state was saved */
  result?: NetworkResult;
  /** the container's annotations, for undoing without a result (which CNI network, say) */
  annotations?: Record<string, string>;
}

export interface NetworkPlugin {
  readonly name: string;
  /** Configures the namespace; on failure, nothing it made is left behind. */
  setup(request: NetworkRequest): Promise<NetworkResult>;
  /** Undoes setup; tolerates a namespace, link, rule or allocation that is already gone. */
  teardown(request: NetworkTeardownRequest): Promise<void>;
  /** Verifies the network is still as set up (CNI CHECK); throws naming what is wrong. */
  check?(request: NetworkRequest & { result: NetworkResult }): Promise<void>;
}
