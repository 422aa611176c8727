/** CNI configuration lists and results, without running plugins. */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfList, parseConfList } from '../../plugins/network/cni/conflist';
import { toNetworkResult, versionAtLeast } from '../../plugins/network/cni/result';
import { cachePath } from '../../plugins/network/cni/cache';
import { tempDir } from '../fixtures/env';

const parse = (o: unknown): ReturnType<typeof parseConfList> => parseConfList('create', '/x.conflist', Buffer.from(JSON.stringify(o)));

describe('CNI configuration lists', () => {
  it('reads a list and turns a single-plugin .conf into a list of one', () => {
    const l = parse({ cniVersion: '1.0.0', name: 'n', plugins: [{ type: 'bridge' }, { type: 'portmap', capabilities: { portMappings: true } }] });
    assert.deepEqual(l.plugins.map((p) => p.type), ['bridge', 'portmap']);
    const single = parse({ cniVersion: '0.4.0', name: 'n', type: 'bridge', bridge: 'cni9' });
    assert.deepEqual(single.plugins, [{ type: 'bridge', bridge: 'cni9' }]);
    assert.equal(single.cniVersion, '0.4.0');
  });

  for (const [doc, message] of [
    ['{', /^HutchError: create: \/x\.conflist: not JSON: /],
    ['[]', /^HutchError: create: \/x\.conflist: not a JSON object$/],
    ['{"plugins":[{"type":"bridge"}]}', /^HutchError: create: \/x\.conflist: name: missing or not a string$/],
    ['{"name":"n","plugins":[]}', /^HutchError: create: \/x\.conflist: plugins: must be a non-empty array$/],
    ['{"name":"n","plugins":[{"type":"bridge"},{"ipam":{}}]}', /^HutchError: create: \/x\.conflist: plugins\[1\]\.type: missing or not a plain file name$/],
    ['{"name":"n","plugins":[{"type":"../../bin/sh"}]}', /^HutchError: create: \/x\.conflist: plugins\[0\]\.type: missing or not a plain file name$/],
    ['{"name":"n"}', /plugins: missing/],
  ] as const) {
    it(`rejects ${doc}`, () => {
      assert.throws(() => parseConfList('create', '/x.conflist', Buffer.from(doc)), message);
    });
  }

  it('finds a network by name in file-name order, skipping broken files of other networks', () => {
    const dir = tempDir('cniconf');
    fs.writeFileSync(path.join(dir, '00-broken.conflist'), '{ not json');
    fs.writeFileSync(path.join(dir, '10-a.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'lab', plugins: [{ type: 'bridge' }] }));
    fs.writeFileSync(path.join(dir, '20-b.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'lab', type: 'macvlan' }));
    fs.writeFileSync(path.join(dir, '30-c.conf'), JSON.stringify({ cniVersion: '1.0.0', name: 'other', type: 'ptp' }));
    fs.writeFileSync(path.join(dir, 'README'), 'not a config');
    assert.equal(loadConfList('create', dir, 'lab').plugins[0].type, 'bridge');
    assert.equal(loadConfList('create', dir, 'other').plugins[0].type, 'ptp');
    assert.throws(() => loadConfList('create', dir, 'nope'), { message: `create: io.hutch.network: no CNI network "nope" in ${dir}` });
    assert.throws(() => loadConfList('create', path.join(dir, 'missing'), 'lab'), /io\.hutch\.network: CNI network "lab": cannot read /);
  });

  it("caches results where libcni does", () => {
    assert.equal(cachePath('/var/lib/cni', 'net', 'c1', 'eth0'), '/var/lib/cni/results/net-c1-eth0');
  });
});

describe('CNI results', () => {
  it('maps a 1.0.0 result', () => {
    const r = toNetworkResult({
      cniVersion: '1.0.0',
      interfaces: [{ name: 'cni0', mac: 'aa:aa:aa:aa:aa:aa' }, { name: 'eth0', mac: 'bb:bb:bb:bb:bb:bb', sandbox: '/proc/1/ns/net' }],
      ips: [{ address: '10.22.0.5/16', gateway: '10.22.0.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.22.0.1'] },
    });
    assert.deepEqual(r, {
      interfaces: [{ name: 'cni0', mac: 'aa:aa:aa:aa:aa:aa' }, { name: 'eth0', mac: 'bb:bb:bb:bb:bb:bb', sandbox: '/proc/1/ns/net' }],
      ips: [{ address: '10.22.0.5/16', gateway: '10.22.0.1', interface: 1 }],
      routes: [{ dst: '0.0.0.0/0' }],
      dns: { nameservers: ['10.22.0.1'] },
    });
  });

  it('maps a 0.4.0 result (ips carry "version")', () => {
    const r = toNetworkResult({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.1.0.2/24', gateway: '10.1.0.1' }] });
    assert.deepEqual(r.ips, [{ address: '10.1.0.2/24', gateway: '10.1.0.1' }]);
  });

  it('maps a 0.2.0 result (ip4 / ip6 objects)', () => {
    const r = toNetworkResult({ cniVersion: '0.2.0', ip4: { ip: '10.1.0.2/24', gateway: '10.1.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }] } });
    assert.deepEqual(r, { interfaces: [], ips: [{ address: '10.1.0.2/24', gateway: '10.1.0.1' }], routes: [{ dst: '0.0.0.0/0', gw: '10.1.0.1' }], dns: {} });
  });

  it('compares spec versions', () => {
    assert.equal(versionAtLeast('1.0.0', '0.4.0'), true);
    assert.equal(versionAtLeast('0.4.0', '0.4.0'), true);
    assert.equal(versionAtLeast('0.3.1', '0.4.0'), false);
    assert.equal(versionAtLeast('0.10.0', '0.4.0'), true);
  });
});
