/** Choosing a network plugin from annotations and configuration; parsing io.hutch.ports. */
import assert = require('node:assert/strict');
import { describe, it } from 'node:test';
import { networkConfigOf, networkPluginByName, networkPluginFor, networkPluginName, parseNetworkSelection } from '../../plugins/network/select';
import { parseConfig, pluginFor } from '../../plugins/config';
import { PluginRegistry } from '../../plugins/registry';
import { parsePorts } from '../../plugins/network/ports';

describe('network selection', () => {
  it('reads io.hutch.network: bridge, cni:<name>, none', () => {
    assert.deepEqual(parseNetworkSelection('bridge', 'io.hutch.network'), { kind: 'bridge' });
    assert.deepEqual(parseNetworkSelection('cni:podman', 'io.hutch.network'), { kind: 'cni', network: 'podman' });
    assert.deepEqual(parseNetworkSelection('none', 'io.hutch.network'), { kind: 'none' });
    assert.deepEqual(parseNetworkSelection('cni', 'io.hutch.network'), { kind: 'cni' });
    assert.equal(networkPluginName('cni:podman'), 'cni');
    assert.equal(networkPluginName('bridge'), 'bridge');
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
    assert.equal(networkPluginFor({ 'io.hutch.network': 'cni:lab' }, { default: 'bridge' })?.name, 'cni');
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
    const cni = networkPluginByName('cni:lab', config) as unknown as { name: string; config: { confDir: string; network: string } };
    assert.equal(cni.name, 'cni');
    assert.equal(cni.config.network, 'lab');
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

describe('network plugins in the configuration file and the registry', () => {
  const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined };

  it('reads network.bridge and network.cni, naming the file and key of a mistake', () => {
    const c = parseConfig('network:\n  use: cni\n  bridge: { name: br-lab, subnet: 10.99.0.0/16, mtu: 1400 }\n  cni: { network: lab, confDir: /etc/lab/net.d }\n', '/etc/hutch/config.yaml');
    assert.deepEqual(networkConfigOf(c), {
      default: 'cni',
      bridge: { name: 'br-lab', subnet: '10.99.0.0/16', gateway: undefined, mtu: 1400, stateDir: undefined, ifName: undefined },
      cni: { network: 'lab', confDir: '/etc/lab/net.d', binDirs: undefined, cacheDir: undefined, ifName: undefined },
    });
    for (const [doc, message] of [
      ['network: { bridge: { subnet: 10.99.0.1/16 } }', 'config: /c.yaml: network.bridge.subnet: "10.99.0.1/16" has host bits set (did you mean 10.99.0.0/16?)'],
      ['network: { bridge: { name: a-name-far-too-long } }', 'config: /c.yaml: network.bridge.name: "a-name-far-too-long" is not a valid interface name (1 to 15 characters, no "/", ":" or spaces)'],
      ['network: { bridge: { mtu: 9 } }', 'config: /c.yaml: network.bridge.mtu: must be a whole number from 68 to 65535, not 9'],
      ['network: { bridge: { stateDir: run/x } }', 'config: /c.yaml: network.bridge.stateDir: not an absolute path: "run/x"'],
      ['network: { cni: { netwrk: lab } }', 'config: /c.yaml: network.cni.netwrk: unknown key (known: network, confDir, binDirs, cacheDir, ifName)'],
    ]) {
      assert.throws(() => parseConfig(doc, '/c.yaml'), { message }, doc);
    }
  });

  it('takes io.hutch.network=cni:<name> as the cni plugin', () => {
    const c = parseConfig('network: { use: bridge }\n', '/c.yaml');
    assert.equal(pluginFor(c, 'network', { 'io.hutch.network': 'cni:lab' }), 'cni');
    assert.equal(pluginFor(c, 'network', { 'io.hutch.network': 'none' }), 'none');
    assert.equal(pluginFor(c, 'network', {}), 'bridge');
    assert.throws(() => pluginFor(c, 'network', { 'io.hutch.network': 'flannel:x' }), /unknown network plugin "flannel"/);
  });

  it('builds the built-ins with their settings through the registry', async () => {
    const c = parseConfig('network:\n  bridge: { name: br-lab, stateDir: /tmp/x }\n  cni: { network: lab }\n', '/c.yaml');
    const registry = new PluginRegistry(c, silent);
    const bridge = await registry.get<{ name: string; config: { name: string; stateDir: string; subnet: string } }>('network', 'bridge');
    assert.equal(bridge?.name, 'bridge');
    assert.deepEqual([bridge?.config.name, bridge?.config.stateDir, bridge?.config.subnet], ['br-lab', '/tmp/x', '10.87.0.0/16']);
    const cni = await registry.get<{ name: string; config: { network?: string; confDir: string } }>('network', 'cni');
    assert.deepEqual([cni?.name, cni?.config.network, cni?.config.confDir], ['cni', 'lab', '/etc/cni/net.d']);
    assert.equal((await registry.get<{ name: string }>('network', 'none'))?.name, 'none');
  });
});
