/** IPv4 subnet parsing and overlap, the bridge's iptables rules, the host route table reader. */
import assert = require('node:assert/strict');
import { describe, it } from 'node:test';
import { broadcastOf, formatIpv4, formatSubnet, overlaps, parseIpv4, parseSubnet } from '../../plugins/network/cidr';
import { chains, networkRules, portRules } from '../../plugins/network/bridge/rules';
import { hostRoutes } from '../../plugins/network/host';
import { commentOf } from '../../plugins/network/iptables';

describe('IPv4 subnets', () => {
  it('parses and formats', () => {
    const s = parseSubnet('create', 'network.bridge.subnet', '10.87.0.0/16');
    assert.equal(formatSubnet(s), '10.87.0.0/16');
    assert.equal(formatIpv4(broadcastOf(s)), '10.87.255.255');
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
    assert.equal(parseIpv4('01.2.3.4'), undefined, 'no octal-looking octets');
    assert.equal(parseIpv4('1.2.3'), undefined);
  });

  it('names the setting in every error', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/16/1', 'x/8', '10.0.0.256/24', '10.0.0.1/8']) {
      assert.throws(() => parseSubnet('create', 'network.bridge.subnet', bad), (e: Error & { field?: string }) => {
        assert.equal(e.field, 'network.bridge.subnet');
        assert.match(e.message, new RegExp(`^create: network\\.bridge\\.subnet: "${bad.replace(/[./]/g, '\\$&')}" `));
        return true;
      });
    }
  });

  it('detects overlap in both directions and not between neighbours', () => {
    const a = parseSubnet('', 's', '10.1.0.0/16');
    assert.equal(overlaps(a, parseSubnet('', 's', '10.1.200.0/24')), true);
    assert.equal(overlaps(parseSubnet('', 's', '10.1.200.0/24'), a), true);
    assert.equal(overlaps(a, parseSubnet('', 's', '10.2.0.0/16')), false);
    assert.equal(overlaps(a, parseSubnet('', 's', '0.0.0.0/0')), true);
  });

  it('reads the host route table (little-endian hex in /proc/net/route)', () => {
    for (const r of hostRoutes()) {
      assert.ok(r.subnet.prefix > 0 && r.subnet.prefix <= 32, `prefix of ${r.iface}`);
      assert.equal(parseSubnet('', 's', formatSubnet(r.subnet)).network, r.subnet.network, 'no host bits');
    }
  });
});

describe('bridge iptables rules', () => {
  it('keeps chain names within iptables limits for the longest bridge name', () => {
    for (const c of Object.values(chains('abcdefghijklmno'))) assert.ok(c.length <= 28, c);
  });

  it('tags every rule it adds so it can be found and removed', () => {
    const net = networkRules('hutch0', '10.87.0.0/16');
    const ports = portRules('hutch0', 'web', '10.87.0.5', [{ host: 8080, container: 80, protocol: 'tcp' }]);
    for (const line of [...(net.nat ?? []), ...(net.filter ?? [])].filter((l) => l.startsWith('-A'))) assert.equal(commentOf(line), 'hutch:hutch0');
    for (const line of [...(ports.nat ?? []), ...(ports.filter ?? [])]) assert.equal(commentOf(line), 'hutch:hutch0:web');
    assert.match((ports.nat ?? [])[0], /-A HUTCH-DNAT-hutch0 -p tcp -m tcp --dport 8080 .* -j DNAT --to-destination 10\.87\.0\.5:80$/);
  });

  it('reads comments the way iptables-save prints them', () => {
    assert.equal(commentOf('-A X -m comment --comment "hutch:a:b" -j ACCEPT'), 'hutch:a:b');
    assert.equal(commentOf('-A X -m comment --comment hutch:a -j ACCEPT'), 'hutch:a');
    assert.equal(commentOf('-A X -j ACCEPT'), undefined);
  });
});
