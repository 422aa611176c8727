/** Route-netlink message encoding and decoding (no socket: the bytes only). */
import assert = require('node:assert/strict');
import { describe, it } from 'node:test';
import { delLink, newAddress4, newLink, newRoute4, parseLink, RTM_NEWLINK } from '../../plugins/network/netlink/rtnetlink';

interface Attr {
  type: number;
  payload: Buffer;
}

function attrs(buf: Buffer, from: number, to = buf.length): Attr[] {
  const out: Attr[] = [];
  let off = from;
  while (off + 4 <= to) {
    const len = buf.readUInt16LE(off);
    out.push({ type: buf.readUInt16LE(off + 2) & 0x7fff, payload: buf.subarray(off + 4, off + len) });
    off += (len + 3) & ~3;
  }
  assert.equal(off, to, 'attributes end exactly at the message end (4-byte alignment)');
  return out;
}

const text = (b: Buffer): string => b.toString('utf8').replace(/\0$/, '');

describe('rtnetlink encoding', () => {
  it('makes a veth whose peer is created inside another namespace under its final name', () => {
    const msg = newLink({ name: 'hv0123', kind: 'veth', up: true, mtu: 1400, master: 7, peer: { name: 'eth0', netnsFd: 42, mac: '02:48:0a:00:00:02' } });
    assert.equal(msg.readUInt32LE(0), msg.length);
    assert.equal(msg.readUInt16LE(4), RTM_NEWLINK);
    assert.equal(msg.readUInt16LE(6), 0x1 | 0x4 | 0x400 | 0x200, 'REQUEST | ACK | CREATE | EXCL');
    assert.equal(msg.readUInt32LE(16 + 8) & 1, 1, 'IFF_UP in ifi_flags');
    assert.equal(msg.readUInt32LE(16 + 12) & 1, 1, 'IFF_UP in ifi_change');
    const top = attrs(msg, 32);
    assert.equal(text(top.find((a) => a.type === 3)!.payload), 'hv0123');
    assert.equal(top.find((a) => a.type === 4)!.payload.readUInt32LE(0), 1400);
    assert.equal(top.find((a) => a.type === 10)!.payload.readUInt32LE(0), 7, 'IFLA_MASTER');
    const linkinfo = attrs(top.find((a) => a.type === 18)!.payload, 0);
    assert.equal(text(linkinfo.find((a) => a.type === 1)!.payload), 'veth');
    const data = attrs(linkinfo.find((a) => a.type === 2)!.payload, 0);
    const peer = data.find((a) => a.type === 1)!.payload;
    const peerAttrs = attrs(peer, 16); // after the peer's ifinfomsg
    assert.equal(text(peerAttrs.find((a) => a.type === 3)!.payload), 'eth0');
    assert.equal(peerAttrs.find((a) => a.type === 28)!.payload.readUInt32LE(0), 42, 'IFLA_NET_NS_FD');
    assert.deepEqual([...peerAttrs.find((a) => a.type === 1)!.payload], [2, 0x48, 10, 0, 0, 2]);
  });

  it('changes an existing link by name when no kind is given, without CREATE', () => {
    const msg = newLink({ name: 'lo', up: true });
    assert.equal(msg.readUInt16LE(6), 0x1 | 0x4);
    assert.equal(msg.readInt32LE(16 + 4), 0, 'no index: the kernel looks up IFLA_IFNAME');
    assert.equal(text(attrs(msg, 32)[0].payload), 'lo');
  });

  it('encodes addresses and routes', () => {
    const addr = newAddress4(5, '10.87.0.2', 16, '10.87.255.255');
    assert.deepEqual([addr[16], addr[17]], [2, 16], 'AF_INET, /16');
    assert.equal(addr.readUInt32LE(20), 5);
    const a = attrs(addr, 24);
    assert.deepEqual([...a.find((x) => x.type === 2)!.payload], [10, 87, 0, 2], 'IFA_LOCAL');
    assert.deepEqual([...a.find((x) => x.type === 4)!.payload], [10, 87, 255, 255], 'IFA_BROADCAST');

    const route = newRoute4('0.0.0.0', 0, '10.87.0.1');
    assert.equal(route[16 + 1], 0, 'dst_len 0: default route');
    assert.equal(route[16 + 4], 254, 'main table');
    const r = attrs(route, 28);
    assert.deepEqual(r.map((x) => x.type), [5], 'only RTA_GATEWAY');
    assert.deepEqual([...r[0].payload], [10, 87, 0, 1]);
  });

  it('numbers requests so replies can be matched', () => {
    assert.notEqual(delLink('a').readUInt32LE(8), delLink('a').readUInt32LE(8));
  });

  it('decodes a link reply', () => {
    // a reply is a request-shaped message: reuse the encoder, then set index and flags
    const reply = newLink({ name: 'br0', mtu: 1500, mac: 'aa:bb:cc:dd:ee:ff', master: 3 });
    reply.writeInt32LE(9, 16 + 4);
    reply.writeUInt32LE(1, 16 + 8);
    assert.deepEqual(parseLink(reply), { index: 9, name: 'br0', up: true, mtu: 1500, mac: 'aa:bb:cc:dd:ee:ff', master: 3 });
  });
});
