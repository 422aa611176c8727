/**
 * Address allocation in a bridge network's subnet, round robin from the last
 * address handed out (so a freed address is not reused at once, as CNI's host-local
 * does). Call with the state lock held; each claim is also an O_EXCL file, so a
 * duplicate is impossible even without it.
 *
 * Example:
 *   allocateIp(store, network, 'c1') // "10.87.0.2", or undefined when the pool is exhausted
 */
import { broadcastOf, formatIpv4, parseIpv4, type Ipv4Subnet } from '../cidr';
import type { BridgeStore } from './store';

export interface Pool {
  bridge: string;
  subnet: Ipv4Subnet;
  gateway: number;
}

/** The addresses containers may get: the subnet minus network, broadcast and gateway. */
export function poolSize(pool: Pool): number {
  const hosts = pool.subnet.prefix >= 31 ? 0 : broadcastOf(pool.subnet) - pool.subnet.network - 1;
  return Math.max(0, hosts - 1);
}

export function allocateIp(store: BridgeStore, pool: Pool, id: string): string | undefined {
  const first = pool.subnet.network + 1;
  const last = broadcastOf(pool.subnet) - 1;
  if (last < first) return undefined;
  const span = last - first + 1;
  const previous = parseIpv4(store.readLast(pool.bridge) ?? '');
  const start = previous !== undefined && previous >= first && previous <= last ? previous + 1 - first : 0;
  const taken = new Set(store.allocatedIps(pool.bridge));
  for (let i = 0; i < span; i++) {
    const ip = first + ((start + i) % span);
    if (ip === pool.gateway) continue;
    const text = formatIpv4(ip);
    if (taken.has(text)) continue;
    if (store.claimIp(pool.bridge, text, id)) {
      store.writeLast(pool.bridge, text);
      return text;
    }
  }
  return undefined;
}
