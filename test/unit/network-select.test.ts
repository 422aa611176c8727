/** Choosing a network plugin from annotations and configuration; parsing io.hutch.ports. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { networkPluginByName, networkPluginFor, parseNetworkSelection } from '../../plugins/network/select';
import { parsePorts } from '../../plugins/network/ports';

describe('network selection', () => {
  it('reads io.hutch.network: bridge, cni:<name>, none', () => {
    assert.deepEqual(parseNetworkSelection('bridge', 'io.hutch.network'), { kind: 'bridge' });
    assert.deepEqual(parseNetworkSelection('cni:podman', 'io.hutch.network'), { kind: 'cni', network: 'podman' });
    assert.deepEqual(parseNetworkSelection('none', 'io.hutch.network'), { kind: 'none' });
  });

  it('names the annotation or setting a bad value came from', () => {
    assert.throws(() => networkPluginFor({ 'io.hutch.network': 'bridged' }), {
      message: 'create: io.hutch.network: "bridged" is not bridge, cni:<network name> or none',
    });
    assert.throws(() => networkPluginFor({ 'io.hutch.network': 'cni:' }), /io\.hutch\.network: "cni:" is not/);
    assert.throws(() => networkPluginFor({ 'io.hutch.network': 'cni:../etc' }), /io\.hutch\.network/);
    assert.throws(() => networkPluginFor({}, { default: 'host' }), { message: 'create: network.default: "host" is not bridge, cni:<network name> or none' });
  });

  it('uses the annotation over the configured default, and no network when neither says', () => {
    assert.equal(networkPluginFor({}), null);
    assert.equal(networkPluginFor(undefined, { default: 'bridge' })?.name, 'bridge');
    assert.equal(networkPluginFor({ 'io.hutch.network': 'none' }, { default: 'bridge' }), null);
    assert.equal(networkPluginFor({ 'io.hutch.network': 'cni:lab' }, { default: 'bridge' })?.name, 'cni:lab');
  });

  it('refuses published ports without a network', () => {
    assert.throws(() => networkPluginFor({ 'io.hutch.ports': '8080:80' }), {
      message: 'create: io.hutch.ports: ports are published but the container has no network (set io.hutch.network)',
    });
  });

  it('gives back the plugin that made a saved result, with its configuration', () => {
    const config = { bridge: { name: 'br-x', stateDir: '/tmp/x' }, cni: { confDir: '/tmp/cni' } };
    const bridge = networkPluginByName('bridge', config) as unknown as { config: { name: string } };
    assert.equal(bridge.config.name, 'br-x');
    const cni = networkPluginByName('cni:lab', config) as unknown as { name: string; config: { confDir: string } };
    assert.equal(cni.name, 'cni:lab');
    assert.equal(cni.config.confDir, '/tmp/cni');
    assert.throws(() => networkPluginByName('weird'), /delete: network\.plugin: "weird"/);
  });
});

describe('io.hutch.ports', () => {
  it('parses HOST:CONTAINER[/tcp|udp] lists', () => {
    assert.deepEqual(parsePorts('8080:80, 5353:53/udp,443:8443/TCP'), [
      { host: 8080, container: 80, protocol: 'tcp' },
      { host: 5353, container: 53, protocol: 'udp' },
      { host: 443, container: 8443, protocol: 'tcp' },
    ]);
    assert.deepEqual(parsePorts(undefined), []);
    assert.deepEqual(parsePorts(' '), []);
  });

  for (const [value, message] of [
    ['80', 'io.hutch.ports: "80" is not HOST:CONTAINER[/tcp|udp]'],
    ['a:80', 'io.hutch.ports: "a:80": host port "a" is not a number from 1 to 65535'],
    ['0:80', 'io.hutch.ports: "0:80": host port "0" is not a number from 1 to 65535'],
    ['8080:65536', 'io.hutch.ports: "8080:65536": container port "65536" is not a number from 1 to 65535'],
    ['8080:80/sctp', 'io.hutch.ports: "8080:80/sctp": protocol "sctp" is not tcp or udp'],
    ['8080:80,8080:81', 'io.hutch.ports: host port 8080/tcp is published twice'],
    ['1.2.3.4:8080:80', 'io.hutch.ports: "1.2.3.4:8080:80" is not HOST:CONTAINER[/tcp|udp]'],
  ]) {
    it(`rejects "${value}"`, () => {
      assert.throws(() => parsePorts(value), { message: `create: ${message}`, field: 'io.hutch.ports' });
    });
  }

  it('allows the same host port once per protocol', () => {
    assert.equal(parsePorts('53:53/udp,53:53/tcp').length, 2);
  });
});
