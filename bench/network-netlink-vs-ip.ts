/**
 * Why the bridge plugin does its link work over native netlink rather than `ip`:
 * the same veth + inner configuration + delete, both ways, same run.
 *
 *   native: one netlink request per step from Node (addon/src/netlink.cc)
 *   ip:     `ip link add ... netns <pid>`, `nsenter --net=... ip -batch -`, `ip link del`
 *           (the fewest processes iproute2 allows)
 *
 *   node dist/bench/network-netlink-vs-ip.js [iterations=30]
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { promisify } from 'node:util';
import { configureInside, createVeth, deleteLink, macForIp, type VethPlan } from '../plugins/network/bridge/links';
import { deleteLinkQuietly, linkName, NetnsHolder } from '../test/fixtures/net';
import { median } from './lib';

const execFileAsync = promisify(execFile);
const iterations = Number(process.argv[2] ?? 30);

function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

function ipBatch(netnsPath: string, lines: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=${netnsPath}`, 'ip', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(err))));
    child.stdin.end(lines.join('\n') + '\n');
  });
}

async function main(): Promise<void> {
  const bridge = linkName('bn');
  execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
  execFileSync('ip', ['link', 'set', bridge, 'up']);
  const holder = await NetnsHolder.start();
  const plan: VethPlan = {
    bridge,
    hostVeth: linkName('bv'),
    ifName: 'eth0',
    netnsPath: holder.netnsPath,
    ip: '198.18.250.2',
    prefix: 24,
    gateway: '198.18.250.1',
    broadcast: '198.18.250.255',
    mtu: 1500,
  };
  try {
    const native: number[] = [];
    const ip: number[] = [];
    const nativeDel: number[] = [];
    const ipDel: number[] = [];
    for (let i = 0; i <= iterations; i++) {
      let t = now();
      await createVeth('bench', plan);
      await configureInside('bench', plan);
      if (i > 0) native.push(now() - t); // the first of each is a warm-up
      t = now();
      await deleteLink('bench', plan.hostVeth);
      if (i > 0) nativeDel.push(now() - t);

      t = now();
      await execFileAsync('ip', [
        'link', 'add', plan.hostVeth, 'mtu', '1500', 'master', bridge, 'up',
        'type', 'veth', 'peer', 'name', 'eth0', 'mtu', '1500', 'address', macForIp(plan.ip), 'netns', String(holder.pid),
      ]);
      fs.writeFileSync(`/sys/class/net/${plan.hostVeth}/brport/hairpin_mode`, '1');
      await ipBatch(holder.netnsPath, [
        'link set lo up',
        `addr add ${plan.ip}/${plan.prefix} brd ${plan.broadcast} dev eth0`,
        'link set eth0 up',
        `route add default via ${plan.gateway}`,
      ]);
      if (i > 0) ip.push(now() - t);
      t = now();
      await execFileAsync('ip', ['link', 'del', plan.hostVeth]);
      if (i > 0) ipDel.push(now() - t);
    }
    const n = median(native);
    const p = median(ip);
    const nd = median(nativeDel);
    const pd = median(ipDel);
    console.log(`median of ${iterations}:`);
    console.log(`  veth + configure: native netlink ${n.toFixed(2)} ms, ip/nsenter ${p.toFixed(2)} ms, ratio ip/native ${(p / n).toFixed(1)}x`);
    console.log(`  delete veth:      native netlink ${nd.toFixed(2)} ms, ip ${pd.toFixed(2)} ms, ratio ${(pd / nd).toFixed(1)}x (mostly the kernel's own unregister wait)`);
  } finally {
    deleteLinkQuietly(plan.hostVeth);
    await holder.kill();
    deleteLinkQuietly(bridge);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
