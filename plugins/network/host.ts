/** Facts about the host the network plugins check before they change anything. */
import * as fs from 'node:fs';
import { formatSubnet, maskOf, type Ipv4Subnet } from './cidr';

export interface HostRoute {
  iface: string;
  subnet: Ipv4Subnet;
}

/** IPv4 routes of the caller's namespace other than default routes (/proc/net/route is little-endian hex). */
export function hostRoutes(): HostRoute[] {
  let text: string;
  try {
    text = fs.readFileSync('/proc/net/route', 'utf8');
  } catch {
    return [];
  }
  const out: HostRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const le = (hex: string): number => Buffer.from(hex, 'hex').readUInt32LE(0);
    const mask = le(f[7]);
    if (mask === 0) continue;
    let prefix = 0;
    while (prefix < 32 && ((mask & maskOf(prefix + 1)) >>> 0) === maskOf(prefix + 1)) prefix++;
    out.push({ iface: f[0], subnet: { network: (le(f[1]) & maskOf(prefix)) >>> 0, prefix } });
  }
  return out;
}

export function describeRoute(r: HostRoute): string {
  return `${formatSubnet(r.subnet)} on ${r.iface}`;
}

/** "dev:ino" of a namespace file, or undefined when it does not exist. */
export function netnsIdentity(netnsPath: string): string | undefined {
  try {
    const st = fs.statSync(netnsPath);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** Valid Linux interface name: 1–15 bytes, no "/", ":" or whitespace, not "." or "..". */
export function isValidIfName(name: string): boolean {
  return Buffer.byteLength(name) >= 1 && Buffer.byteLength(name) <= 15 && !/[/:\s]/.test(name) && name !== '.' && name !== '..';
}

/** runc's container id alphabet; ids go into file names and iptables comments. */
export function isValidContainerId(id: string): boolean {
  return /^[\w+.-]+$/.test(id) && id !== '.' && id !== '..' && id.length <= 1024;
}
