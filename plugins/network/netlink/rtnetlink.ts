/**
 * Route-netlink messages (links, addresses, routes) encoded and decoded in
 * TypeScript; addon/src/netlink.cc only sends and receives them. Numbers are from
 * <linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>, <linux/veth.h>.
 *
 * Example:
 *   const msg = newLink({ name: 'hv0', kind: 'veth', up: true, peer: { name: 'eth0', netnsFd } });
 *   await socket.request(msg);
 */

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_NEWROUTE = 24;

const AF_UNSPEC = 0;
const AF_INET = 2;
const IFF_UP = 0x1;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_MASTER = 10;
const IFLA_LINKINFO = 18;
const IFLA_NET_NS_FD = 28;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const VETH_INFO_PEER = 1;
const NLA_F_NESTED = 0x8000;

const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_BROADCAST = 4;

const RTA_DST = 1;
const RTA_GATEWAY = 5;
const RT_TABLE_MAIN = 254;
const RTPROT_BOOT = 3;
const RT_SCOPE_UNIVERSE = 0;
const RTN_UNICAST = 1;

/** Sequence numbers are per process; the addon matches replies by them. */
let nextSeq = (process.pid * 1000) >>> 0;

/** One attribute: 4-byte header, payload, padded to 4. */
function attr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
}

function cstring(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), Buffer.alloc(1)]);
}

function nested(type: number, parts: Buffer[]): Buffer {
  return attr(type | NLA_F_NESTED, Buffer.concat(parts));
}

/** nlmsghdr + body; always asks for an ack so errors and success both come back. */
function message(type: number, flags: number, body: Buffer[]): Buffer {
  const payload = Buffer.concat(body);
  const header = Buffer.alloc(16);
  header.writeUInt32LE(16 + payload.length, 0);
  header.writeUInt16LE(type, 4);
  header.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK | flags, 6);
  nextSeq = (nextSeq + 1) >>> 0;
  header.writeUInt32LE(nextSeq, 8);
  header.writeUInt32LE(0, 12);
  return Buffer.concat([header, payload]);
}

function ifinfomsg(index: number, flags = 0, change = 0, family = AF_UNSPEC): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

function macBytes(mac: string): Buffer {
  return Buffer.from(mac.split(':').map((h) => parseInt(h, 16)));
}

function ipv4Bytes(ip: string): Buffer {
  return Buffer.from(ip.split('.').map(Number));
}

export interface LinkSpec {
  name: string;
  /** "bridge", "veth"; omitted to change an existing link found by name */
  kind?: string;
  up?: boolean;
  mtu?: number;
  mac?: string;
  /** ifindex of the bridge to attach to */
  master?: number;
  /** veth only: the other end, optionally made directly in another namespace */
  peer?: { name: string; netnsFd?: number; mtu?: number; mac?: string };
}

function linkAttrs(spec: { name: string; mtu?: number; mac?: string; master?: number }): Buffer[] {
  const attrs = [attr(IFLA_IFNAME, cstring(spec.name))];
  if (spec.mtu) attrs.push(attr(IFLA_MTU, u32(spec.mtu)));
  if (spec.mac) attrs.push(attr(IFLA_ADDRESS, macBytes(spec.mac)));
  if (spec.master !== undefined) attrs.push(attr(IFLA_MASTER, u32(spec.master)));
  return attrs;
}

/** RTM_NEWLINK: creates a link when `kind` is set (failing if it exists), else changes it. */
export function newLink(spec: LinkSpec): Buffer {
  const attrs = linkAttrs(spec);
  if (spec.kind) {
    const info = [attr(IFLA_INFO_KIND, cstring(spec.kind))];
    if (spec.peer) {
      const peerAttrs = linkAttrs(spec.peer);
      if (spec.peer.netnsFd !== undefined) peerAttrs.push(attr(IFLA_NET_NS_FD, u32(spec.peer.netnsFd)));
      info.push(nested(IFLA_INFO_DATA, [nested(VETH_INFO_PEER, [ifinfomsg(0), ...peerAttrs])]));
    }
    attrs.push(nested(IFLA_LINKINFO, info));
  }
  const flags = spec.up ? IFF_UP : 0;
  const change = spec.up ? IFF_UP : 0;
  return message(RTM_NEWLINK, spec.kind ? NLM_F_CREATE | NLM_F_EXCL : 0, [ifinfomsg(0, flags, change), ...attrs]);
}

/** RTM_NEWLINK without kind: brings an existing link up, by name. */
export function linkUp(name: string): Buffer {
  return newLink({ name, up: true });
}

/** RTM_DELLINK by name (deleting one end of a veth deletes both). */
export function delLink(name: string): Buffer {
  return message(RTM_DELLINK, 0, [ifinfomsg(0), attr(IFLA_IFNAME, cstring(name))]);
}

/** RTM_GETLINK by name: one reply, decoded by parseLink. */
export function getLink(name: string): Buffer {
  return message(RTM_GETLINK, 0, [ifinfomsg(0), attr(IFLA_IFNAME, cstring(name))]);
}

/** RTM_NEWADDR: an IPv4 address with its prefix (and broadcast) on a link. */
export function newAddress4(index: number, ip: string, prefix: number, broadcast?: string): Buffer {
  const ifa = Buffer.alloc(8);
  ifa.writeUInt8(AF_INET, 0);
  ifa.writeUInt8(prefix, 1);
  ifa.writeUInt8(0, 2);
  ifa.writeUInt8(RT_SCOPE_UNIVERSE, 3);
  ifa.writeUInt32LE(index, 4);
  const attrs = [attr(IFA_LOCAL, ipv4Bytes(ip)), attr(IFA_ADDRESS, ipv4Bytes(ip))];
  if (broadcast) attrs.push(attr(IFA_BROADCAST, ipv4Bytes(broadcast)));
  return message(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, [ifa, ...attrs]);
}

/** RTM_NEWROUTE: `dst/dstLen` via `gateway` in the main table ("0.0.0.0", 0: the default route). */
export function newRoute4(dst: string, dstLen: number, gateway: string): Buffer {
  const rtm = Buffer.alloc(12);
  rtm.writeUInt8(AF_INET, 0);
  rtm.writeUInt8(dstLen, 1);
  rtm.writeUInt8(RT_TABLE_MAIN, 4);
  rtm.writeUInt8(RTPROT_BOOT, 5);
  rtm.writeUInt8(RT_SCOPE_UNIVERSE, 6);
  rtm.writeUInt8(RTN_UNICAST, 7);
  const attrs = [attr(RTA_GATEWAY, ipv4Bytes(gateway))];
  if (dstLen > 0) attrs.push(attr(RTA_DST, ipv4Bytes(dst)));
  return message(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, [rtm, ...attrs]);
}

export interface LinkInfo {
  index: number;
  name: string;
  up: boolean;
  mac?: string;
  master?: number;
  mtu?: number;
}

/** Decodes an RTM_NEWLINK reply (to getLink). */
export function parseLink(reply: Buffer): LinkInfo {
  const index = reply.readInt32LE(16 + 4);
  const flags = reply.readUInt32LE(16 + 8);
  const info: LinkInfo = { index, name: '', up: (flags & IFF_UP) !== 0 };
  let off = 32;
  const end = reply.readUInt32LE(0);
  while (off + 4 <= end) {
    const len = reply.readUInt16LE(off);
    const type = reply.readUInt16LE(off + 2) & ~NLA_F_NESTED;
    if (len < 4) break;
    const payload = reply.subarray(off + 4, off + len);
    if (type === IFLA_IFNAME) info.name = payload.toString('utf8').replace(/\0.*$/s, '');
    else if (type === IFLA_ADDRESS) info.mac = [...payload].map((b) => b.toString(16).padStart(2, '0')).join(':');
    else if (type === IFLA_MASTER) info.master = payload.readUInt32LE(0);
    else if (type === IFLA_MTU) info.mtu = payload.readUInt32LE(0);
    off += (len + 3) & ~3;
  }
  return info;
}
