/**
 * Bad input to the network plugins on the real kernel: each case gets one clear
 * error naming the setting, and leaves nothing half-made — no bridge, veth, rule,
 * address, port claim, record, pin or cache.
 */
import assert = require('node:assert/strict');
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgePlugin } from '../../plugins/network/bridge/plugin';
import { hostVethName } from '../../plugins/network/bridge/links';
import { CniPlugin } from '../../plugins/network/cni/plugin';
import type { NetworkResult } from '../../plugins/network/plugin';
import { containerId, isRoot, RUN_ID, tempDir } from '../fixtures/env';
import {
  deleteLinkQuietly,
  iptablesLinesWith,
  iptablesSnapshot,
  linkExists,
  linkName,
  NetnsHolder,
  readIpForward,
  removeCniSharedChains,
  restoreIpForward,
  testSubnet,
  unmountUnder,
  freePort,
} from '../fixtures/net';

const skip = isRoot() ? false : 'needs root';

function listDir(d: string): string[] {
  return fs.existsSync(d) ? fs.readdirSync(d) : [];
}

describe('network plugins: bad input', { skip }, () => {
  const work = tempDir('net-bad');
  const stateDir = path.join(work, 'state');
  const ipForward = readIpForward();
  const iptablesBefore = iptablesSnapshot();
  const holders: NetnsHolder[] = [];
  const cleanups: (() => Promise<void> | void)[] = [];
  let h: NetnsHolder;

  before(async () => {
    h = await NetnsHolder.start();
    holders.push(h);
  });

  after(async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => undefined);
    for (const x of holders) await x.kill();
    removeCniSharedChains(iptablesBefore);
    restoreIpForward(ipForward);
    unmountUnder(work);
    fs.rmSync(work, { recursive: true, force: true });
    assert.deepEqual(iptablesLinesWith(RUN_ID), []);
  });

  /** Nothing of container `id` on bridge `bridge` exists. */
  async function assertNothingOf(bridge: string, id: string, holder = h): Promise<void> {
    assert.equal(linkExists(hostVethName(bridge, id)), false, 'no host veth');
    assert.deepEqual(iptablesLinesWith(`hutch:${bridge}:${id}"`), [], 'no rule');
    const netDir = path.join(stateDir, 'networks', bridge);
    assert.equal(fs.existsSync(path.join(netDir, 'containers', `${id}.json`)), false, 'no record');
    for (const ip of listDir(path.join(netDir, 'ips'))) assert.notEqual(fs.readFileSync(path.join(netDir, 'ips', ip), 'utf8'), id, 'no address');
    for (const p of listDir(path.join(stateDir, 'ports'))) assert.doesNotMatch(fs.readFileSync(path.join(stateDir, 'ports', p), 'utf8'), new RegExp(`"${id}"`), 'no port claim');
    assert.doesNotMatch(await holder.exec(['ip', '-o', 'link']), /eth0/, 'no interface inside');
  }

  for (const [subnet, problem] of [
    ['10.1.2.0/33', /the prefix length must be 0 to 32/],
    ['10.1.2', /is not an IPv4 subnet in CIDR form/],
    ['300.1.2.0/24', /"300\.1\.2\.0" is not an IPv4 address/],
    ['10.1.2.1/24', /has host bits set \(did you mean 10\.1\.2\.0\/24\?\)/],
    ['10.1.2.0/31', /is too small/],
  ] as const) {
    it(`rejects the malformed subnet ${subnet}, naming network.bridge.subnet`, async () => {
      const bridge = linkName('hx', 'm');
      const p = new BridgePlugin({ name: bridge, subnet, stateDir });
      const id = containerId('malformed');
      await assert.rejects(p.setup({ id, netnsPath: h.netnsPath, pid: h.pid, annotations: {} }), (e: Error) => {
        assert.match(e.message, /^create: network\.bridge\.subnet: /);
        assert.match(e.message, problem);
        return true;
      });
      assert.equal(linkExists(bridge), false, 'no bridge');
      await assertNothingOf(bridge, id);
    });
  }

  it('rejects a bridge name the kernel would refuse', async () => {
    const p = new BridgePlugin({ name: 'a-name-far-too-long', subnet: testSubnet('badname'), stateDir });
    await assert.rejects(
      p.setup({ id: containerId('bn'), netnsPath: h.netnsPath, pid: h.pid, annotations: {} }),
      /HutchError: create: network\.bridge\.name: "a-name-far-too-long" is not a valid interface name/,
    );
  });

  it("rejects a subnet that overlaps one of the host's routes", async () => {
    const veth = linkName('hd');
    const routed = testSubnet('route'); // 10.x.y.0/24
    execFileSync('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`]);
    cleanups.push(() => deleteLinkQuietly(veth));
    execFileSync('ip', ['addr', 'add', routed.replace(/0\/24$/, '1/24'), 'dev', veth]);
    execFileSync('ip', ['link', 'set', veth, 'up']);
    const wide = routed.replace(/\.\d+\.0\/24$/, '.0.0/16');
    const bridge = linkName('hx', 'r');
    const p = new BridgePlugin({ name: bridge, subnet: wide, stateDir });
    const id = containerId('overlap');
    await assert.rejects(
      p.setup({ id, netnsPath: h.netnsPath, pid: h.pid, annotations: {} }),
      (e: Error) => e.message === `create: network.bridge.subnet: ${wide} overlaps the host's route ${routed} on ${veth}`,
    );
    assert.equal(linkExists(bridge), false);
    await assertNothingOf(bridge, id);
  });

  it('rejects a subnet that overlaps another hutch network', async () => {
    const first = linkName('hx', 'f');
    const subnet = testSubnet('first');
    const p1 = new BridgePlugin({ name: first, subnet, stateDir });
    const r = await p1.setup({ id: containerId('first'), netnsPath: h.netnsPath, pid: h.pid, annotations: {} });
    cleanups.push(() => p1.removeNetwork({ force: true }));
    try {
      const second = linkName('hx', 's');
      const p2 = new BridgePlugin({ name: second, subnet: subnet.replace(/\/24$/, '/25'), stateDir });
      const h2 = await NetnsHolder.start();
      holders.push(h2);
      await assert.rejects(
        p2.setup({ id: containerId('second'), netnsPath: h2.netnsPath, pid: h2.pid, annotations: {} }),
        (e: Error) => e.message === `create: network.bridge.subnet: ${subnet.replace(/\/24$/, '/25')} overlaps ${subnet} of hutch bridge ${first}`,
      );
      assert.equal(linkExists(second), false);
      await assertNothingOf(second, containerId('second'), h2);
    } finally {
      await p1.teardown({ id: containerId('first'), result: r });
    }
  });

  it('reports an exhausted pool, naming network.bridge.subnet, and leaves nothing of the refused container', async () => {
    const bridge = linkName('hx', 'e');
    const p = new BridgePlugin({ name: bridge, subnet: testSubnet('exhausted', 30), stateDir });
    const first = containerId('only');
    const r = await p.setup({ id: first, netnsPath: h.netnsPath, pid: h.pid, annotations: {} });
    try {
      const h3 = await NetnsHolder.start();
      holders.push(h3);
      const id = containerId('nofree');
      await assert.rejects(p.setup({ id, netnsPath: h3.netnsPath, pid: h3.pid, annotations: {} }), (e: Error) => {
        assert.match(e.message, /^create: network\.bridge\.subnet: no free address in 10\.\d+\.\d+\.0\/30 on bridge \S+ \(all 1 are allocated\)$/);
        return true;
      });
      await assertNothingOf(bridge, id, h3);
    } finally {
      await p.teardown({ id: first, result: r });
      await p.removeNetwork();
    }
  });

  describe('on a working network', () => {
    const bridge = linkName('hx', 'w');
    const p = new BridgePlugin({ name: bridge, subnet: testSubnet('working', 29), stateDir });
    const results = new Map<string, NetworkResult>();

    after(async () => {
      for (const [id, r] of results) await p.teardown({ id, result: r }).catch(() => undefined);
      await p.removeNetwork({ force: true });
    });

    it('rejects a host port that something on the host listens on, leaving nothing', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = (server.address() as net.AddressInfo).port;
      const id = containerId('inuse');
      try {
        await assert.rejects(
          p.setup({ id, netnsPath: h.netnsPath, pid: h.pid, annotations: { 'io.hutch.ports': `${port}:80` } }),
          (e: Error) => e.message === `create: io.hutch.ports: host port ${port}/tcp is already in use on the host`,
        );
      } finally {
        server.close();
      }
      await assertNothingOf(bridge, id);
    });

    it('rejects a host port another container publishes, naming it, and leaves both as they were', async () => {
      const port = await freePort();
      const owner = containerId('owner');
      results.set(owner, await p.setup({ id: owner, netnsPath: h.netnsPath, pid: h.pid, annotations: { 'io.hutch.ports': `${port}:80/udp` } }));
      const h2 = await NetnsHolder.start();
      holders.push(h2);
      const id = containerId('second');
      await assert.rejects(
        p.setup({ id, netnsPath: h2.netnsPath, pid: h2.pid, annotations: { 'io.hutch.ports': `${port}:53/udp` } }),
        (e: Error) => e.message === `create: io.hutch.ports: host port ${port}/udp is already published by container "${owner}"`,
      );
      await assertNothingOf(bridge, id, h2);
      assert.equal(iptablesLinesWith(`hutch:${bridge}:${owner}"`).length, 2, "the owner's rules stay");
    });

    it('undoes everything when a step after the reservation fails (the namespace already has an eth0)', async () => {
      const [owner, r] = [...results][0];
      await p.teardown({ id: owner, result: r });
      results.delete(owner);
      const h4 = await NetnsHolder.start();
      holders.push(h4);
      await h4.exec(['ip', 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth1']);
      const id = containerId('clash');
      const port = await freePort();
      await assert.rejects(
        p.setup({ id, netnsPath: h4.netnsPath, pid: h4.pid, annotations: { 'io.hutch.ports': `${port}:80` } }),
        /HutchError: create: create veth hv[0-9a-f]{12} with eth0 in \/proc\/\d+\/ns\/net: file exists/,
      );
      assert.equal(linkExists(hostVethName(bridge, id)), false);
      assert.deepEqual(listDir(path.join(stateDir, 'networks', bridge, 'ips')), []);
      assert.deepEqual(listDir(path.join(stateDir, 'networks', bridge, 'containers')), []);
      assert.deepEqual(listDir(path.join(stateDir, 'ports')), []);
      assert.deepEqual(iptablesLinesWith(`hutch:${bridge}:${id}"`), []);
    });

    it('reports a namespace that does not exist', async () => {
      await assert.rejects(
        p.setup({ id: containerId('nons'), netnsPath: '/proc/2147483647/ns/net', pid: 2147483647, annotations: {} }),
        /HutchError: create: network namespace \/proc\/2147483647\/ns\/net does not exist/,
      );
    });
  });

  describe("with Debian's CNI plugins", () => {
    const confDir = path.join(work, 'net.d');
    const cacheDir = path.join(work, 'cache');
    const ipamDir = path.join(work, 'ipam');
    // one bridge per list: Debian's bridge plugin (1.1.1) fails on a bridge left
    // without ports by an earlier failed ADD ("could not set bridge's mac")
    const bridges = [linkName('hx', 'c'), linkName('hx', 'd')];
    const subnet = testSubnet('cni-bad');

    before(() => {
      for (const b of bridges) cleanups.push(() => deleteLinkQuietly(b));
      fs.mkdirSync(confDir, { recursive: true });
      let next = 0;
      const bridgeConf = (ipam: object): object => ({ type: 'bridge', bridge: bridges[next++], isGateway: true, ipMasq: true, ipam });
      const goodIpam = { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet }]] };
      fs.writeFileSync(
        path.join(confDir, 'badipam.conflist'),
        JSON.stringify({ cniVersion: '1.0.0', name: 'badipam', plugins: [bridgeConf({ ...goodIpam, ranges: [[{ subnet, rangeStart: '192.0.2.200' }]] })] }),
      );
      fs.writeFileSync(
        path.join(confDir, 'badtuning.conflist'),
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'badtuning',
          plugins: [bridgeConf(goodIpam), { type: 'firewall' }, { type: 'tuning', sysctl: { 'net.ipv4.conf.eth0.no_such_knob': '1' } }],
        }),
      );
      // should a setup wrongly succeed, its attachment must still go
      cleanups.push(async () => {
        for (const f of listDir(path.join(cacheDir, 'results'))) {
          const network = ['badipam', 'badtuning'].find((n) => f.startsWith(`${n}-`));
          if (network) await new CniPlugin({ network: network, confDir, cacheDir }).teardown({ id: f.slice(network.length + 1, -'-eth0'.length) });
        }
      });
    });

    async function assertNothingCni(network: string, id: string): Promise<void> {
      assert.doesNotMatch(await h.exec(['ip', '-o', 'link']), /eth0/, 'no interface inside');
      assert.deepEqual(iptablesLinesWith(`id: \\"${id}\\"`), [], 'no rule');
      assert.deepEqual(listDir(path.join(ipamDir, network)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)), [], 'no address');
      assert.deepEqual(listDir(path.join(cacheDir, 'results')), [], 'no cached result');
      assert.deepEqual(listDir(path.join(cacheDir, 'netns')), [], 'no pin');
    }

    it("surfaces the IPAM plugin's own error, leaving nothing", async () => {
      const id = containerId('badipam');
      await assert.rejects(new CniPlugin({ network: 'badipam', confDir, cacheDir }).setup({ id, netnsPath: h.netnsPath, pid: h.pid, annotations: {} }), (e: Error) => {
        assert.match(e.message, /^create: CNI plugin bridge: ADD failed: .*192\.0\.2\.200/);
        return true;
      });
      await assertNothingCni('badipam', id);
    });

    it('undoes the plugins that ran when a later one fails, leaving nothing', async () => {
      const id = containerId('badtuning');
      await assert.rejects(new CniPlugin({ network: 'badtuning', confDir, cacheDir }).setup({ id, netnsPath: h.netnsPath, pid: h.pid, annotations: {} }), (e: Error) => {
        assert.match(e.message, /^create: CNI plugin tuning: ADD failed: .*no_such_knob/);
        return true;
      });
      await assertNothingCni('badtuning', id);
      assert.deepEqual(iptablesLinesWith('CNI-FORWARD -s '), [], 'the firewall plugin that ran was undone');
    });
  });
});
