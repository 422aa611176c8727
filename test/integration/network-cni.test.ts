/**
 * The CNI network plugin with Debian's plugin binaries (bridge, host-local, portmap,
 * firewall, loopback) on the real kernel: the same connectivity as the bridge
 * built-in, teardown after the namespace's last process is gone (the pin), and the
 * CNI protocol itself (environment, stdin, prevResult chaining, capabilities,
 * reverse DEL with the cached result) seen by a recording plugin the test writes.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CniPlugin } from '../../plugins/network/cni/plugin';
import type { NetworkResult } from '../../plugins/network/plugin';
import { containerId, isRoot, RUN_ID, tempDir } from '../fixtures/env';
import {
  BUSYBOX,
  deleteLinkQuietly,
  httpGet,
  iptablesLinesWith,
  iptablesSnapshot,
  linkName,
  NetnsHolder,
  readIpForward,
  removeCniSharedChains,
  restoreIpForward,
  retry,
  testSubnet,
  unmountUnder,
  Upstream,
  freePort,
  ipOf,
} from '../fixtures/net';

const skip = isRoot() ? false : 'needs root';

function mounted(file: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === file);
}

describe('CNI network plugin with Debian plugins', { skip }, () => {
  const work = tempDir('net-cni');
  const confDir = path.join(work, 'net.d');
  const cacheDir = path.join(work, 'cache');
  const ipamDir = path.join(work, 'ipam');
  const bridge = linkName('hc', 'a');
  const network = `hutch-test-${RUN_ID}`;
  const subnet = testSubnet('cni');
  const plugin = new CniPlugin({ network: network, confDir, cacheDir });
  const ipForward = readIpForward();
  const iptablesBefore = iptablesSnapshot();
  const holders: NetnsHolder[] = [];
  const attached = new Map<string, NetworkResult>();
  let upstream: Upstream | undefined;
  let a: NetnsHolder;
  let b: NetnsHolder;
  const idA = containerId('cnia');
  const idB = containerId('cnib');
  let port = 0;
  let httpd: ReturnType<NetnsHolder['spawn']> | undefined;

  before(async () => {
    fs.mkdirSync(confDir, { recursive: true });
    fs.writeFileSync(
      path.join(confDir, '10-test.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: network,
        plugins: [
          {
            type: 'bridge',
            bridge,
            isGateway: true,
            ipMasq: true,
            hairpinMode: true,
            ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
          },
          { type: 'portmap', capabilities: { portMappings: true }, snat: true },
          { type: 'firewall', backend: 'iptables' },
          { type: 'loopback' },
        ],
      }),
    );
    a = await NetnsHolder.start();
    b = await NetnsHolder.start();
    holders.push(a, b);
    upstream = await Upstream.start('cni');
    port = await freePort();
  });

  after(async () => {
    httpd?.kill('SIGKILL');
    for (const [id, result] of attached) await plugin.teardown({ id, result }).catch(() => undefined);
    for (const h of holders) await h.kill();
    await upstream?.stop();
    deleteLinkQuietly(bridge); // CNI's bridge plugin never deletes its bridge
    removeCniSharedChains(iptablesBefore);
    restoreIpForward(ipForward);
    unmountUnder(work);
    fs.rmSync(work, { recursive: true, force: true });
    assert.deepEqual(iptablesLinesWith(RUN_ID), [], 'no rule naming this run is left');
  });

  it('attaches two namespaces that reach each other', async () => {
    const ra = await plugin.setup({ id: idA, netnsPath: a.netnsPath, pid: a.pid, annotations: {} });
    attached.set(idA, ra);
    const rb = await plugin.setup({ id: idB, netnsPath: b.netnsPath, pid: b.pid, annotations: { 'io.hutch.ports': `${port}:80` } });
    attached.set(idB, rb);
    assert.equal(ra.plugin, `cni:${network}`);
    assert.notEqual(ipOf(ra), ipOf(rb));
    assert.ok(ra.interfaces.some((i) => i.name === 'eth0' && i.sandbox), 'the result names the container interface');
    assert.ok(fs.existsSync(path.join(cacheDir, 'results', `${network}-${idA}-eth0`)), 'the ADD result is cached');
    assert.match(await a.exec(['ip', '-o', '-4', 'addr', 'show', 'lo']), /127\.0\.0\.1/, 'loopback plugin ran');
    await retry(5, 200, () => a.exec([BUSYBOX, 'ping', '-c', '1', '-W', '2', ipOf(rb)]));
    await retry(5, 200, () => b.exec([BUSYBOX, 'ping', '-c', '1', '-W', '2', ipOf(ra)]));
  });

  it('publishes a port the host reaches on 127.0.0.1 (portmap)', async () => {
    const www = path.join(work, 'www');
    fs.mkdirSync(www, { recursive: true });
    fs.writeFileSync(path.join(www, 'index.html'), `cni ${RUN_ID}\n`);
    httpd = b.spawn([BUSYBOX, 'httpd', '-f', '-p', '80', '-h', www]);
    assert.equal(await retry(50, 100, () => httpGet('127.0.0.1', port, '/index.html')), `cni ${RUN_ID}\n`);
  });

  it('masquerades egress (ipMasq): the upstream sees the host address', async () => {
    assert.ok(upstream);
    const seen = await a.exec([BUSYBOX, 'wget', '-q', '-O', '-', `http://${upstream.address}:${upstream.port}/`]);
    assert.equal(seen.trim(), upstream.hostAddress);
  });

  it('refuses a second ADD for the same container while the first is cached', async () => {
    await assert.rejects(plugin.setup({ id: idA, netnsPath: a.netnsPath, pid: a.pid, annotations: {} }), /already attached to CNI network/);
  });

  it('tears down after the namespace lost its last process, leaving no rule, address, pin or cache', async () => {
    httpd?.kill('SIGKILL');
    const rb = attached.get(idB) as NetworkResult;
    const pin = (rb.data as { netnsPin: string }).netnsPin;
    await b.kill(); // like a container that exited before `delete`: the pin keeps its namespace
    assert.equal(mounted(pin), true);
    await plugin.teardown({ id: idB, netnsPath: b.netnsPath, result: rb });
    attached.delete(idB);
    assert.equal(mounted(pin), false);
    assert.equal(fs.existsSync(pin), false);
    assert.deepEqual(iptablesLinesWith(idB), [], 'masquerade, DNAT and firewall rules of the container are gone');
    assert.equal(fs.existsSync(path.join(ipamDir, network, ipOf(rb))), false, 'host-local released the address');
    assert.equal(fs.existsSync(path.join(cacheDir, 'results', `${network}-${idB}-eth0`)), false);

    const ra = attached.get(idA) as NetworkResult;
    await plugin.teardown({ id: idA, netnsPath: a.netnsPath, result: ra });
    attached.delete(idA);
    assert.deepEqual(iptablesLinesWith(idA), []);
    assert.doesNotMatch(await a.exec(['ip', '-o', 'link']), /eth0/);
    assert.deepEqual(fs.readdirSync(path.join(ipamDir, network)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)), []);
    // again, with everything gone: DEL is idempotent
    await plugin.teardown({ id: idA, netnsPath: a.netnsPath, result: ra });
  });

  it('runs CHECK against the cached result (a list without portmap: Debian 1.1.1 portmap CHECK always looks for IPv6 chains)', async () => {
    const checkNet = `${network}-chk`;
    fs.writeFileSync(
      path.join(confDir, '20-check.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: checkNet,
        plugins: [
          { type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', dataDir: ipamDir, ranges: [[{ subnet }]] } },
          { type: 'firewall', backend: 'iptables' },
        ],
      }),
    );
    const checker = new CniPlugin({ network: checkNet, confDir, cacheDir });
    const id = containerId('cnic');
    const r = await checker.setup({ id, netnsPath: a.netnsPath, pid: a.pid, annotations: {} });
    try {
      await checker.check({ id, netnsPath: a.netnsPath, pid: a.pid, annotations: {}, result: r });
      await a.exec(['ip', 'link', 'del', 'eth0']);
      await assert.rejects(checker.check({ id, netnsPath: a.netnsPath, pid: a.pid, annotations: {}, result: r }), /CNI plugin bridge: CHECK failed: .*eth0/);
    } finally {
      await checker.teardown({ id, netnsPath: a.netnsPath, result: r });
    }
    assert.deepEqual(iptablesLinesWith(id), []);
  });
});

describe('CNI protocol, seen by a recording plugin', { skip }, () => {
  const work = tempDir('net-cni-proto');
  const binDir = path.join(work, 'bin');
  const confDir = path.join(work, 'net.d');
  const cacheDir = path.join(work, 'cache');
  const log = path.join(work, 'calls.log');
  let holder: NetnsHolder;

  // Appends what it was given to $HUTCH_TEST_CNI_LOG; ADD prints prevResult with
  // its own address added (or a fresh result); "fail" prints a CNI error and exits 1.
  const recorder = `#!/bin/sh
in=$(cat)
printf '{"self":"%s","cmd":"%s","id":"%s","netns":"%s","ifname":"%s","path":"%s","args":"%s","stdin":%s}\\n' \\
  "$(basename "$0")" "$CNI_COMMAND" "$CNI_CONTAINERID" "$CNI_NETNS" "$CNI_IFNAME" "$CNI_PATH" "$CNI_ARGS" "$in" >> "$HUTCH_TEST_CNI_LOG"
case "$(basename "$0")/$CNI_COMMAND" in
  fail/ADD) echo '{"cniVersion":"1.0.0","code":7,"msg":"invalid frobnicator","details":"frob must be 3"}'; exit 1 ;;
  */ADD) echo '{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"'"$CNI_NETNS"'"}],"ips":[{"address":"10.254.0.'"$(basename "$0" | wc -c)"'/24","gateway":"10.254.0.1","interface":0}]}' ;;
esac
`;

  function calls(): { self: string; cmd: string; id: string; netns: string; ifname: string; path: string; stdin: Record<string, unknown> }[] {
    return fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
  }

  before(async () => {
    fs.mkdirSync(binDir, { recursive: true });
    fs.mkdirSync(confDir, { recursive: true });
    for (const name of ['first', 'second', 'fail']) fs.writeFileSync(path.join(binDir, name), recorder, { mode: 0o755 });
    process.env.HUTCH_TEST_CNI_LOG = log;
    holder = await NetnsHolder.start();
  });

  after(async () => {
    delete process.env.HUTCH_TEST_CNI_LOG;
    await holder.kill();
    unmountUnder(work);
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('chains prevResult through ADD, gives portMappings only to capable plugins, DELs in reverse with the cached result', async () => {
    fs.writeFileSync(
      path.join(confDir, 'rec.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'rec',
        plugins: [{ type: 'first', knob: 1 }, { type: 'second', capabilities: { portMappings: true } }],
      }),
    );
    fs.rmSync(log, { force: true });
    // no configured network: the annotation names it, and the result carries it to teardown
    const cni = new CniPlugin({ confDir, cacheDir, binDirs: [binDir] });
    const id = containerId('rec');
    const r = await cni.setup({
      id,
      netnsPath: holder.netnsPath,
      pid: holder.pid,
      annotations: { 'io.hutch.network': 'cni:rec', 'io.hutch.ports': '8080:80/udp' },
    });
    assert.equal(r.plugin, 'cni:rec');
    assert.equal(r.ips[0].address, '10.254.0.7/24', 'the last plugin result wins ("second" + newline = 7 bytes)');

    const adds = calls();
    assert.deepEqual(adds.map((c) => `${c.self}/${c.cmd}`), ['first/ADD', 'second/ADD']);
    const pin = path.join(cacheDir, 'netns', `rec-${id}-eth0`);
    for (const c of adds) {
      assert.equal(c.id, id);
      assert.equal(c.netns, pin, 'CNI_NETNS is the pinned namespace');
      assert.equal(c.ifname, 'eth0');
      assert.equal(c.path, binDir);
      assert.equal(c.stdin.name, 'rec');
      assert.equal(c.stdin.cniVersion, '1.0.0');
    }
    assert.equal(adds[0].stdin.knob, 1);
    assert.equal(adds[0].stdin.prevResult, undefined);
    assert.equal(adds[0].stdin.runtimeConfig, undefined, 'no capability, no runtimeConfig');
    assert.deepEqual((adds[1].stdin.prevResult as { ips: { address: string }[] }).ips[0].address, '10.254.0.6/24');
    assert.deepEqual(adds[1].stdin.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'udp' }] });

    fs.rmSync(log);
    await cni.teardown({ id, netnsPath: holder.netnsPath, result: r });
    const dels = calls();
    assert.deepEqual(dels.map((c) => `${c.self}/${c.cmd}`), ['second/DEL', 'first/DEL']);
    for (const c of dels) assert.equal((c.stdin.prevResult as { ips: { address: string }[] }).ips[0].address, '10.254.0.7/24');
    assert.deepEqual(dels[0].stdin.runtimeConfig, { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'udp' }] });
    assert.equal(mounted(pin), false);
    assert.equal(fs.existsSync(path.join(cacheDir, 'results', `rec-${id}-eth0`)), false);
  });

  it('surfaces a failing plugin\'s own message and DELs what ran, leaving no pin or cache', async () => {
    fs.writeFileSync(
      path.join(confDir, 'bad.conflist'),
      JSON.stringify({ cniVersion: '1.0.0', name: 'bad', plugins: [{ type: 'first' }, { type: 'fail' }, { type: 'second' }] }),
    );
    fs.rmSync(log, { force: true });
    const cni = new CniPlugin({ network: 'bad', confDir, cacheDir, binDirs: [binDir] });
    const id = containerId('bad');
    await assert.rejects(
      cni.setup({ id, netnsPath: holder.netnsPath, pid: holder.pid, annotations: {} }),
      (e: Error) => e.message === 'create: CNI plugin fail: ADD failed: invalid frobnicator (frob must be 3)',
    );
    assert.deepEqual(calls().map((c) => `${c.self}/${c.cmd}`), ['first/ADD', 'fail/ADD', 'second/DEL', 'fail/DEL', 'first/DEL']);
    assert.equal(fs.existsSync(path.join(cacheDir, 'results', `bad-${id}-eth0`)), false);
    assert.equal(fs.existsSync(path.join(cacheDir, 'netns', `bad-${id}-eth0`)), false);
  });

  it('names an unknown plugin type before running anything', async () => {
    fs.writeFileSync(path.join(confDir, 'unknown.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'unknown', plugins: [{ type: 'first' }, { type: 'nosuchplugin' }] }));
    fs.rmSync(log, { force: true });
    const cni = new CniPlugin({ network: 'unknown', confDir, cacheDir, binDirs: [binDir] });
    await assert.rejects(
      cni.setup({ id: containerId('unk'), netnsPath: holder.netnsPath, pid: holder.pid, annotations: {} }),
      (e: Error) => e.message === `create: ${path.join(confDir, 'unknown.conflist')}: plugins[1].type: CNI plugin "nosuchplugin" not found in ${binDir}`,
    );
    assert.deepEqual(calls(), [], 'nothing ran');
    assert.equal(fs.existsSync(path.join(cacheDir, 'netns')) ? fs.readdirSync(path.join(cacheDir, 'netns')).length : 0, 0);
  });

  it('names a network that no configuration defines, or asks which one', async () => {
    const cni = new CniPlugin({ network: 'nonet', confDir, cacheDir, binDirs: [binDir] });
    await assert.rejects(cni.setup({ id: containerId('nn'), netnsPath: holder.netnsPath, pid: holder.pid, annotations: {} }), /io\.hutch\.network: no CNI network "nonet" in /);
    const unnamed = new CniPlugin({ confDir, cacheDir, binDirs: [binDir] });
    await assert.rejects(
      unnamed.setup({ id: containerId('nn'), netnsPath: holder.netnsPath, pid: holder.pid, annotations: { 'io.hutch.network': 'cni' } }),
      /io\.hutch\.network: which CNI network\? Use cni:<name>, or set network\.cni\.network/,
    );
  });

  it('refuses published ports when no plugin has the portMappings capability', async () => {
    fs.writeFileSync(path.join(confDir, 'noports.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'noports', plugins: [{ type: 'first' }] }));
    const cni = new CniPlugin({ network: 'noports', confDir, cacheDir, binDirs: [binDir] });
    await assert.rejects(
      cni.setup({ id: containerId('np'), netnsPath: holder.netnsPath, pid: holder.pid, annotations: { 'io.hutch.ports': '8080:80' } }),
      /io\.hutch\.ports: CNI network "noports" .* has no plugin with the portMappings capability/,
    );
  });
});
