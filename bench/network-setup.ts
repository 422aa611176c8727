/**
 * Network setup + teardown for one namespace: hutch's bridge plugin (in-process, as
 * the runtime calls it) against the CNI bridge plugin binary driven directly (ADD,
 * then DEL, with host-local IPAM), in the same run; then 50 concurrent setups of
 * each. Both use their own test bridge, subnet and state, removed at the end.
 *
 *   node dist/bench/network-setup.js [iterations=30]
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BridgePlugin } from '../plugins/network/bridge/plugin';
import { containerId, tempDir } from '../test/fixtures/env';
import {
  deleteLinkQuietly,
  iptablesSnapshot,
  linkName,
  NetnsHolder,
  readIpForward,
  removeCniSharedChains,
  restoreIpForward,
  testSubnet,
} from '../test/fixtures/net';
import { median } from './lib';

const iterations = Number(process.argv[2] ?? 30);

function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function cni(plugin: string, command: 'ADD' | 'DEL', id: string, netns: string, config: object): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(`/usr/lib/cni/${plugin}`, [], {
      env: { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: id, CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_PATH: '/usr/lib/cni' },
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${plugin} ${command}: ${out}`))));
    child.stdin.end(JSON.stringify(config));
  });
}

async function main(): Promise<void> {
  const work = tempDir('bench-net');
  const hBridge = linkName('bh');
  const cBridge = linkName('bc');
  const hutch = new BridgePlugin({ name: hBridge, subnet: testSubnet('bench-h', 24), stateDir: path.join(work, 'state') });
  const cniConf = {
    cniVersion: '1.0.0',
    name: `bench${process.pid}`,
    type: 'bridge',
    bridge: cBridge,
    isGateway: true,
    ipMasq: true,
    ipam: { type: 'host-local', dataDir: path.join(work, 'ipam'), ranges: [[{ subnet: testSubnet('bench-c', 24) }]], routes: [{ dst: '0.0.0.0/0' }] },
  };
  const ipForward = readIpForward();
  const iptablesBefore = iptablesSnapshot();
  const holders = await Promise.all(Array.from({ length: 50 }, () => NetnsHolder.start()));
  try {
    const one = holders[0];
    // warm up both (bridge creation, page cache), not measured
    await hutch.teardown({ id: 'warm', result: await hutch.setup({ id: 'warm', netnsPath: one.netnsPath, pid: one.pid, annotations: {} }) });
    await cni('bridge', 'ADD', 'warm', one.netnsPath, cniConf);
    await cni('bridge', 'DEL', 'warm', one.netnsPath, cniConf);

    const h: { setup: number[]; teardown: number[] } = { setup: [], teardown: [] };
    const c: { setup: number[]; teardown: number[] } = { setup: [], teardown: [] };
    for (let i = 0; i < iterations; i++) {
      // alternate, so drift on a noisy machine hits both alike
      let t = now();
      const r = await hutch.setup({ id: `b${i}`, netnsPath: one.netnsPath, pid: one.pid, annotations: {} });
      h.setup.push(now() - t);
      t = now();
      await hutch.teardown({ id: `b${i}`, result: r });
      h.teardown.push(now() - t);

      t = now();
      await cni('bridge', 'ADD', `b${i}`, one.netnsPath, cniConf);
      c.setup.push(now() - t);
      t = now();
      await cni('bridge', 'DEL', `b${i}`, one.netnsPath, cniConf);
      c.teardown.push(now() - t);
    }
    const hs = median(h.setup);
    const ht = median(h.teardown);
    const cs = median(c.setup);
    const ct = median(c.teardown);
    console.log(`one namespace, median of ${iterations}:`);
    console.log(`  hutch bridge     setup ${hs.toFixed(2)} ms  teardown ${ht.toFixed(2)} ms  total ${(hs + ht).toFixed(2)} ms`);
    console.log(`  CNI bridge (exec) ADD  ${cs.toFixed(2)} ms  DEL      ${ct.toFixed(2)} ms  total ${(cs + ct).toFixed(2)} ms`);
    console.log(`  ratio CNI/hutch: setup ${(cs / hs).toFixed(1)}x  teardown ${(ct / ht).toFixed(1)}x  total ${((cs + ct) / (hs + ht)).toFixed(1)}x`);

    // with one published port: hutch's DNAT rules against the portmap plugin chained after bridge
    const portmapConf = { cniVersion: '1.0.0', name: cniConf.name, type: 'portmap', snat: true };
    const hp: number[] = [];
    const cp: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const hostPort = 30000 + (process.pid % 1000) * 10 + (i % 10);
      let t = now();
      const r = await hutch.setup({ id: `p${i}`, netnsPath: one.netnsPath, pid: one.pid, annotations: { 'io.hutch.ports': `${hostPort}:80` } });
      await hutch.teardown({ id: `p${i}`, result: r });
      hp.push(now() - t);

      t = now();
      const added = JSON.parse(await cni('bridge', 'ADD', `p${i}`, one.netnsPath, cniConf)) as object;
      const withPorts = { ...portmapConf, prevResult: added, runtimeConfig: { portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }] } };
      await cni('portmap', 'ADD', `p${i}`, one.netnsPath, withPorts);
      await cni('portmap', 'DEL', `p${i}`, one.netnsPath, withPorts);
      await cni('bridge', 'DEL', `p${i}`, one.netnsPath, { ...cniConf, prevResult: added });
      cp.push(now() - t);
    }
    console.log(`one namespace with one published port, setup + teardown, median of ${iterations}:`);
    console.log(`  hutch bridge ${median(hp).toFixed(2)} ms  CNI bridge + portmap (exec) ${median(cp).toFixed(2)} ms  ratio ${(median(cp) / median(hp)).toFixed(1)}x`);

    // 50 at once
    let t = now();
    const results = await Promise.all(holders.map((x, i) => hutch.setup({ id: containerId(`m${i}`), netnsPath: x.netnsPath, pid: x.pid, annotations: {} })));
    const hSetup50 = now() - t;
    t = now();
    await Promise.all(results.map((r, i) => hutch.teardown({ id: containerId(`m${i}`), result: r })));
    const hTeardown50 = now() - t;
    t = now();
    await Promise.all(holders.map((x, i) => cni('bridge', 'ADD', `m${i}`, x.netnsPath, cniConf)));
    const cSetup50 = now() - t;
    t = now();
    await Promise.all(holders.map((x, i) => cni('bridge', 'DEL', `m${i}`, x.netnsPath, cniConf)));
    const cTeardown50 = now() - t;
    console.log('50 namespaces at once (one process; the CNI plugin runs as 50 processes):');
    console.log(`  hutch bridge      setup ${hSetup50.toFixed(0)} ms  teardown ${hTeardown50.toFixed(0)} ms`);
    console.log(`  CNI bridge (exec) ADD   ${cSetup50.toFixed(0)} ms  DEL      ${cTeardown50.toFixed(0)} ms`);
    console.log(`  ratio CNI/hutch: setup ${(cSetup50 / hSetup50).toFixed(1)}x  teardown ${(cTeardown50 / hTeardown50).toFixed(1)}x`);
  } finally {
    await Promise.all(holders.map((x) => x.kill()));
    await hutch.removeNetwork({ force: true }).catch((e) => console.error(`cleanup: ${(e as Error).message}`));
    deleteLinkQuietly(cBridge);
    removeCniSharedChains(iptablesBefore);
    restoreIpForward(ipForward);
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
