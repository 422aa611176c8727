/**
 * The link work of the bridge plugin, over native route-netlink (see
 * bench/network-netlink-vs-ip.ts for why not `ip`): the bridge, the veth pair with
 * its inner end made directly inside the container's namespace, and the inner
 * configuration (loopback, address, default route).
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { HutchError } from '../../../runtime/errors';
import { broadcastOf, formatIpv4, type Ipv4Subnet } from '../cidr';
import { delLink, linkUp, newAddress4, newLink, newRoute4 } from '../netlink/rtnetlink';
import { NetlinkSocket } from '../netlink/socket';

/** Host end of a container's veth: `hv` + 12 hex digits of a hash of bridge and id (15-char limit). */
export function hostVethName(bridge: string, id: string): string {
  return `hv${crypto.createHash('sha256').update(`${bridge}\0${id}`).digest('hex').slice(0, 12)}`;
}

/** A container's MAC follows its address (02:48:a.b.c.d), so a reused address never meets a stale ARP entry. */
export function macForIp(ip: string): string {
  return ['02', '48', ...ip.split('.').map((o) => Number(o).toString(16).padStart(2, '0'))].join(':');
}

function randomBridgeMac(): string {
  const b = crypto.randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function writeSysctl(op: string, file: string, value: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === value) return;
    fs.writeFileSync(file, value);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HutchError(op, `write ${value} to ${file}: ${err.message}`, { step: 'sysctl', errno: err.code, path: file });
  }
}

/**
 * Makes the bridge with the gateway address, up, and the host settings it needs:
 * route_localnet on the bridge (127.0.0.1:HOST → container) and IPv4 forwarding
 * (as Docker and CNI's bridge plugin turn it on).
 */
export async function createBridge(op: string, bridge: string, subnet: Ipv4Subnet, gateway: number, mtu: number): Promise<void> {
  const nl = NetlinkSocket.open(op, null);
  try {
    await nl.request(newLink({ name: bridge, kind: 'bridge', mtu, mac: randomBridgeMac() }), `create bridge ${bridge}`);
    const link = await nl.link(bridge);
    if (!link) throw new HutchError(op, `bridge ${bridge} vanished right after it was made`, { step: 'create bridge', errno: 'ENODEV' });
    await nl.request(
      newAddress4(link.index, formatIpv4(gateway), subnet.prefix, formatIpv4(broadcastOf(subnet))),
      `add ${formatIpv4(gateway)}/${subnet.prefix} to bridge ${bridge}`,
    );
    await nl.request(linkUp(bridge), `bring bridge ${bridge} up`);
  } finally {
    nl.close();
  }
  writeSysctl(op, `/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1');
  writeSysctl(op, '/proc/sys/net/ipv4/ip_forward', '1');
}

/** Deletes a link by name; one already gone is fine. */
export async function deleteLink(op: string, name: string): Promise<void> {
  const nl = NetlinkSocket.open(op, null);
  try {
    await nl.request(delLink(name), `delete link ${name}`);
  } catch (e) {
    if (!(e instanceof HutchError && (e.errno === 'ENODEV' || e.errno === 'ENOENT'))) throw e;
  } finally {
    nl.close();
  }
}

export interface VethPlan {
  bridge: string;
  hostVeth: string;
  ifName: string;
  netnsPath: string;
  ip: string;
  prefix: number;
  gateway: string;
  broadcast: string;
  mtu: number;
}

/**
 * Creates the pair (host end on the bridge, up, hairpin on; inner end made in the
 * container's namespace under its final name) and returns the host end's MAC.
 */
export async function createVeth(op: string, plan: VethPlan): Promise<string | undefined> {
  const nl = NetlinkSocket.open(op, null);
  let netnsFd: number;
  try {
    netnsFd = fs.openSync(plan.netnsPath, fs.constants.O_RDONLY);
  } catch (e) {
    nl.close();
    const err = e as NodeJS.ErrnoException;
    throw new HutchError(op, `open network namespace ${plan.netnsPath}: ${err.message}`, { step: 'open netns', errno: err.code, path: plan.netnsPath });
  }
  try {
    const bridge = await nl.link(plan.bridge);
    if (!bridge) throw new HutchError(op, `bridge ${plan.bridge} is gone`, { step: 'create veth', errno: 'ENODEV' });
    await nl.request(
      newLink({
        name: plan.hostVeth,
        kind: 'veth',
        mtu: plan.mtu,
        master: bridge.index,
        up: true,
        peer: { name: plan.ifName, netnsFd, mtu: plan.mtu, mac: macForIp(plan.ip) },
      }),
      `create veth ${plan.hostVeth} with ${plan.ifName} in ${plan.netnsPath}`,
    );
    // hairpin: a container may reach its own published port through the host
    writeSysctl(op, `/sys/class/net/${plan.hostVeth}/brport/hairpin_mode`, '1');
    return (await nl.link(plan.hostVeth))?.mac;
  } finally {
    fs.closeSync(netnsFd);
    nl.close();
  }
}

/** Inside the namespace: loopback up, the address, the link up, the default route. */
export async function configureInside(op: string, plan: VethPlan): Promise<void> {
  const nl = NetlinkSocket.open(op, plan.netnsPath);
  try {
    await nl.request(linkUp('lo'), 'bring lo up');
    const link = await nl.link(plan.ifName);
    if (!link) throw new HutchError(op, `${plan.ifName} is missing in ${plan.netnsPath}`, { step: 'configure', errno: 'ENODEV' });
    await nl.request(newAddress4(link.index, plan.ip, plan.prefix, plan.broadcast), `add ${plan.ip}/${plan.prefix} to ${plan.ifName}`);
    await nl.request(linkUp(plan.ifName), `bring ${plan.ifName} up`);
    await nl.request(newRoute4('0.0.0.0', 0, plan.gateway), `add default route via ${plan.gateway}`);
  } finally {
    nl.close();
  }
}
