/**
 * IPv4 addresses and subnets as unsigned 32-bit numbers.
 *
 * Example:
 *   const s = parseSubnet('setup', 'network.bridge.subnet', '10.87.0.0/16');
 *   formatIpv4(s.network + 1) // "10.87.0.1"
 */
import { HutchError } from '../../runtime/errors';

export interface Ipv4Subnet {
  /** network address */
  network: number;
  prefix: number;
}

/** "10.1.2.3" → number; undefined when it is not exactly a dotted quad. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function broadcastOf(s: Ipv4Subnet): number {
  return (s.network | (~maskOf(s.prefix) >>> 0)) >>> 0;
}

export function formatSubnet(s: Ipv4Subnet): string {
  return `${formatIpv4(s.network)}/${s.prefix}`;
}

export function contains(s: Ipv4Subnet, ip: number): boolean {
  return ((ip & maskOf(s.prefix)) >>> 0) === s.network;
}

export function overlaps(a: Ipv4Subnet, b: Ipv4Subnet): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return ((a.network & maskOf(prefix)) >>> 0) === ((b.network & maskOf(prefix)) >>> 0);
}

/**
 * Parses a subnet setting strictly: a dotted quad, a prefix from 0 to 32, no host
 * bits. Errors name the setting, e.g.
 * `network.bridge.subnet: "10.1.2.1/24" has host bits set (did you mean 10.1.2.0/24?)`.
 */
export function parseSubnet(op: string, setting: string, text: string): Ipv4Subnet {
  const bad = (problem: string): HutchError =>
    new HutchError(op, `${setting}: "${text}" ${problem}`, { kind: 'invalid-argument', field: setting });
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!m) throw bad('is not an IPv4 subnet in CIDR form (like 10.87.0.0/16)');
  const ip = parseIpv4(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined) throw bad(`is not an IPv4 subnet: "${m[1]}" is not an IPv4 address`);
  if (prefix > 32) throw bad('is not an IPv4 subnet: the prefix length must be 0 to 32');
  const network = (ip & maskOf(prefix)) >>> 0;
  if (network !== ip) throw bad(`has host bits set (did you mean ${formatIpv4(network)}/${prefix}?)`);
  return { network, prefix };
}
