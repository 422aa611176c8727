/** Address allocation from the bridge pool, on a state directory of the test's own. */
import assert = require('node:assert/strict');
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { parseIpv4, parseSubnet } from '../../plugins/network/cidr';
import { allocateIp, poolSize, type Pool } from '../../plugins/network/bridge/ipam';
import { BridgeStore } from '../../plugins/network/bridge/store';
import { tempDir } from '../fixtures/env';

function pool(subnet: string, gateway?: string): { store: BridgeStore; pool: Pool } {
  const store = new BridgeStore(path.join(tempDir('ipam'), 'state'));
  const s = parseSubnet('', 'subnet', subnet);
  const p: Pool = { bridge: 'br0', subnet: s, gateway: gateway ? (parseIpv4(gateway) as number) : s.network + 1 };
  store.writeNetwork({ bridge: 'br0', subnet, gateway: gateway ?? '', mtu: 1500 });
  return { store, pool: p };
}

describe('bridge IPAM', () => {
  it('hands out every host address but the gateway once, then nothing', () => {
    const { store, pool: p } = pool('10.9.0.0/29');
    assert.equal(poolSize(p), 5);
    const got = Array.from({ length: 5 }, (_, i) => allocateIp(store, p, `c${i}`));
    assert.deepEqual(got, ['10.9.0.2', '10.9.0.3', '10.9.0.4', '10.9.0.5', '10.9.0.6']);
    assert.equal(allocateIp(store, p, 'c5'), undefined);
  });

  it('goes round robin: a freed address is not the next one handed out', () => {
    const { store, pool: p } = pool('10.9.0.0/29');
    assert.equal(allocateIp(store, p, 'a'), '10.9.0.2');
    assert.equal(allocateIp(store, p, 'b'), '10.9.0.3');
    store.releaseIp('br0', '10.9.0.2', 'a');
    assert.equal(allocateIp(store, p, 'c'), '10.9.0.4');
    for (const id of ['d', 'e']) allocateIp(store, p, id);
    assert.equal(allocateIp(store, p, 'f'), '10.9.0.2', 'wraps around to the freed one');
  });

  it('skips a gateway that is not the first address', () => {
    const { store, pool: p } = pool('10.9.0.0/30', '10.9.0.2');
    assert.equal(allocateIp(store, p, 'a'), '10.9.0.1');
    assert.equal(allocateIp(store, p, 'b'), undefined);
  });

  it('frees an address only for the container that holds it', () => {
    const { store, pool: p } = pool('10.9.0.0/30');
    assert.equal(allocateIp(store, p, 'new-owner'), '10.9.0.2');
    store.releaseIp('br0', '10.9.0.2', 'old-owner');
    assert.deepEqual(store.allocatedIps('br0'), ['10.9.0.2']);
    store.releaseIp('br0', '10.9.0.2', 'new-owner');
    assert.deepEqual(store.allocatedIps('br0'), []);
  });

  it('never hands out an address whose claim file exists, even if the last-address hint lies', () => {
    const { store, pool: p } = pool('10.9.0.0/29');
    assert.equal(store.claimIp('br0', '10.9.0.3', 'someone'), true);
    store.writeLast('br0', '10.9.0.2');
    assert.equal(allocateIp(store, p, 'x'), '10.9.0.4');
  });
});
