/**
 * The `none` network plugin: the container keeps the empty network namespace it was
 * made with. Registered so `io.hutch.network=none` and `network.use: none` are valid
 * names; a runtime may as well skip the calls.
 *
 * Example:
 *   await new NoNetworkPlugin().setup(request) // { plugin: 'none', interfaces: [], ips: [] }
 */
import { HutchError } from '../../runtime/errors';
import type { NetworkPlugin, NetworkRequest, NetworkResult } from './plugin';
import { parsePorts, PORTS_ANNOTATION } from './ports';

export class NoNetworkPlugin implements NetworkPlugin {
  readonly name = 'none';

  async setup(req: NetworkRequest): Promise<NetworkResult> {
    if (parsePorts(req.annotations[PORTS_ANNOTATION]).length) {
      throw new HutchError('create', `${PORTS_ANNOTATION}: ports are published but the container has no network (set io.hutch.network)`, {
        kind: 'invalid-argument',
        field: PORTS_ANNOTATION,
      });
    }
    return { plugin: this.name, interfaces: [], ips: [] };
  }

  async teardown(): Promise<void> {
    // nothing was made
  }
}
