/**
 * The bridge network plugin on the real kernel, with network namespaces held by
 * busybox processes in place of containers: reachability across the bridge, a
 * published port from the host's 127.0.0.1 and from containers (hairpin),
 * masqueraded egress to an upstream namespace the test makes, and a teardown that
 * leaves no link, rule, address or file.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgePlugin } from '../../plugins/network/bridge/plugin';
import type { NetworkResult } from '../../plugins/network/plugin';
import { containerId, isRoot, RUN_ID, tempDir } from '../fixtures/env';
import {
  BUSYBOX,
  httpGet,
  iptablesLinesWith,
  linkExists,
  linkName,
  NetnsHolder,
  readIpForward,
  restoreIpForward,
  retry,
  testSubnet,
  Upstream,
  freePort,
  ipOf,
} from '../fixtures/net';

const skip = isRoot() ? false : 'needs root';

describe('bridge network plugin', { skip }, () => {
  const work = tempDir('net-bridge');
  const bridge = linkName('hb', 'a');
  const subnet = testSubnet('bridge');
  const stateDir = path.join(work, 'state');
  const plugin = new BridgePlugin({ name: bridge, subnet, stateDir });
  const ipForward = readIpForward();
  const holders: NetnsHolder[] = [];
  const results = new Map<string, NetworkResult>();
  let upstream: Upstream | undefined;
  let a: NetnsHolder;
  let b: NetnsHolder;
  const idA = containerId('neta');
  const idB = containerId('netb');
  let port = 0;
  let httpd: ReturnType<NetnsHolder['spawn']> | undefined;

  before(async () => {
    a = await NetnsHolder.start();
    b = await NetnsHolder.start();
    holders.push(a, b);
    upstream = await Upstream.start('bridge');
    port = await freePort();
  });

  after(async () => {
    httpd?.kill('SIGKILL');
    for (const [id, result] of results) await plugin.teardown({ id, result }).catch(() => undefined);
    await plugin.removeNetwork({ force: true }).catch(() => undefined);
    for (const h of holders) await h.kill();
    await upstream?.stop();
    restoreIpForward(ipForward);
    fs.rmSync(work, { recursive: true, force: true });
    assert.equal(linkExists(bridge), false, 'bridge removed');
    assert.deepEqual(iptablesLinesWith(bridge), [], 'no rule of the test bridge left');
  });

  it('gives two namespaces addresses on the bridge that reach each other', async () => {
    const ra = await plugin.setup({ id: idA, netnsPath: a.netnsPath, pid: a.pid, annotations: {} });
    results.set(idA, ra);
    const rb = await plugin.setup({ id: idB, netnsPath: b.netnsPath, pid: b.pid, annotations: { 'io.hutch.ports': `${port}:80` } });
    results.set(idB, rb);

    assert.equal(ra.plugin, 'bridge');
    assert.notEqual(ipOf(ra), ipOf(rb));
    const gateway = subnet.replace(/\.0\/24$/, '.1');
    assert.equal(ra.ips[0].gateway, gateway);
    assert.equal(ra.ips[0].address.endsWith('/24'), true);
    assert.deepEqual(rb.ports, [{ host: port, container: 80, protocol: 'tcp', hostIP: '0.0.0.0' }]);

    // inside: lo up, eth0 with the address, default route via the bridge
    const addrs = await a.exec(['ip', '-o', '-4', 'addr', 'show']);
    assert.match(addrs, /\blo\b.*127\.0\.0\.1/);
    assert.match(addrs, new RegExp(`\\beth0\\b.*${ipOf(ra).replace(/\./g, '\\.')}/24`));
    assert.match(await a.exec(['ip', 'route', 'show', 'default']), new RegExp(`default via ${gateway.replace(/\./g, '\\.')} dev eth0`));

    // the first packets may wait for ARP: bounded retries, not a sleep
    await retry(5, 200, () => a.exec([BUSYBOX, 'ping', '-c', '1', '-W', '2', ipOf(rb)]));
    await retry(5, 200, () => b.exec([BUSYBOX, 'ping', '-c', '1', '-W', '2', ipOf(ra)]));
  });

  it('publishes a port that the host reaches on 127.0.0.1 and containers reach through the host (hairpin)', async () => {
    const rb = results.get(idB);
    assert.ok(rb, 'setup ran');
    const www = path.join(work, 'www');
    fs.mkdirSync(www, { recursive: true });
    fs.writeFileSync(path.join(www, 'index.html'), `hello from ${RUN_ID}\n`);
    httpd = b.spawn([BUSYBOX, 'httpd', '-f', '-p', '80', '-h', www]);

    const page = await retry(50, 100, () => httpGet('127.0.0.1', port, '/index.html'));
    assert.equal(page, `hello from ${RUN_ID}\n`);

    const gateway = rb.ips[0].gateway as string;
    // another container through the host's address on the bridge
    assert.equal(await a.exec([BUSYBOX, 'wget', '-q', '-O', '-', `http://${gateway}:${port}/index.html`]), `hello from ${RUN_ID}\n`);
    // the publishing container itself, out through the bridge and back in (hairpin)
    assert.equal(await b.exec([BUSYBOX, 'wget', '-q', '-O', '-', `http://${gateway}:${port}/index.html`]), `hello from ${RUN_ID}\n`);
  });

  it('masquerades egress: the upstream sees the host address, not the container', async () => {
    assert.ok(upstream);
    const seen = await a.exec([BUSYBOX, 'wget', '-q', '-O', '-', `http://${upstream.address}:${upstream.port}/`]);
    assert.equal(seen.trim(), upstream.hostAddress);
    assert.notEqual(seen.trim(), ipOf(results.get(idA) as NetworkResult));
  });

  it('reports a second setup of the same container and keeps the first intact', async () => {
    await assert.rejects(plugin.setup({ id: idA, netnsPath: a.netnsPath, pid: a.pid, annotations: {} }), /already on bridge/);
    await retry(5, 200, () => b.exec([BUSYBOX, 'ping', '-c', '1', '-W', '2', ipOf(results.get(idA) as NetworkResult)]));
  });

  it('checks a live attachment and tears it down leaving no link, rule, address or record', async () => {
    const ra = results.get(idA) as NetworkResult;
    const rb = results.get(idB) as NetworkResult;
    await plugin.check({ id: idA, netnsPath: a.netnsPath, pid: a.pid, annotations: {}, result: ra });
    httpd?.kill('SIGKILL');
    for (const [id, r] of [[idA, ra], [idB, rb]] as const) {
      await plugin.teardown({ id, netnsPath: id === idA ? a.netnsPath : b.netnsPath, result: r });
      results.delete(id);
      assert.equal(linkExists(r.interfaces[0].name), false, `host veth ${r.interfaces[0].name} gone`);
      assert.deepEqual(iptablesLinesWith(`hutch:${bridge}:${id}`), []);
    }
    assert.doesNotMatch(await a.exec(['ip', '-o', 'link']), /eth0/);
    assert.deepEqual(fs.readdirSync(path.join(stateDir, 'networks', bridge, 'ips')), []);
    assert.deepEqual(fs.readdirSync(path.join(stateDir, 'networks', bridge, 'containers')), []);
    assert.deepEqual(fs.readdirSync(path.join(stateDir, 'ports')), []);
    // a second teardown finds everything gone and is fine with it
    await plugin.teardown({ id: idA, result: ra });
    await assert.rejects(
      plugin.check({ id: idA, netnsPath: a.netnsPath, pid: a.pid, annotations: {}, result: ra }),
      /has no network on bridge/,
    );
  });
});
