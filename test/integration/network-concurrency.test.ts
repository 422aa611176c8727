/**
 * The bridge plugin shared by many processes: 50 setups and teardowns from 50
 * separate processes at once, and setups killed midway (SIGKILL at each step) or
 * namespaces that vanish, whose leftovers teardown and reclaim clean.
 */
import assert = require('node:assert/strict');
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgePlugin, type BridgeSetupStep } from '../../plugins/network/bridge/plugin';
import { hostVethName } from '../../plugins/network/bridge/links';
import type { NetworkResult } from '../../plugins/network/plugin';
import { containerId, isRoot, tempDir } from '../fixtures/env';
import { iptablesLinesWith, linkExists, linkName, NetnsHolder, readIpForward, restoreIpForward, retry, testSubnet } from '../fixtures/net';

const skip = isRoot() ? false : 'needs root';
const WORKER = path.join(__dirname, '..', 'fixtures', 'net-worker.js');

interface WorkerEvent {
  event: 'ready' | 'paused' | 'done' | 'error';
  result?: NetworkResult;
  step?: string;
  message?: string;
}

/** A worker process and its events, one JSON line each. */
class Worker {
  readonly child: ChildProcess;
  private readonly events: WorkerEvent[] = [];
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(job: object) {
    this.child = spawn(process.execPath, [WORKER, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        this.events.push(JSON.parse(buf.slice(0, nl)) as WorkerEvent);
        buf = buf.slice(nl + 1);
        this.waiters.splice(0).forEach((w) => w());
      }
    });
    // 'close', not 'exit': only then has all of its stdout been read (its last event may
    // still be in the pipe when 'exit' comes)
    this.exited = new Promise((resolve) => this.child.once('close', (code) => {
      this.closed = true;
      this.waiters.splice(0).forEach((w) => w());
      resolve(code);
    }));
  }

  private closed = false;

  /** The first event of this kind (or an error), once it has come; rejects if the worker died without it. */
  async next(kind: WorkerEvent['event']): Promise<WorkerEvent> {
    for (;;) {
      const e = this.events.find((x) => x.event === kind || x.event === 'error');
      if (e) {
        if (e.event === 'error') throw new Error(`worker: ${e.message}`);
        return e;
      }
      if (this.closed) throw new Error(`worker exited (${this.child.exitCode ?? this.child.signalCode}) before "${kind}"`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }
}

describe('bridge plugin across processes', { skip }, () => {
  const work = tempDir('net-conc');
  const bridge = linkName('hb', 'c');
  const subnet = testSubnet('concurrency');
  const stateDir = path.join(work, 'state');
  const config = { name: bridge, subnet, stateDir };
  const plugin = new BridgePlugin(config);
  const ipForward = readIpForward();
  const holders: NetnsHolder[] = [];
  const workers: Worker[] = [];

  const netDir = path.join(stateDir, 'networks', bridge);
  const listDir = (d: string): string[] => (fs.existsSync(d) ? fs.readdirSync(d) : []);

  before(async () => {
    // the network exists before the race, so the test is about the pool, not creation
    const h = await NetnsHolder.start();
    holders.push(h);
    const r = await plugin.setup({ id: containerId('warm'), netnsPath: h.netnsPath, pid: h.pid, annotations: {} });
    await plugin.teardown({ id: containerId('warm'), result: r });
  });

  after(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await plugin.removeNetwork({ force: true }).catch(() => undefined);
    await Promise.all(holders.map((h) => h.kill()));
    restoreIpForward(ipForward);
    fs.rmSync(work, { recursive: true, force: true });
    assert.equal(linkExists(bridge), false);
    assert.deepEqual(iptablesLinesWith(bridge), []);
  });

  it('gives 50 concurrent setups from 50 processes unique addresses, and their teardowns leave nothing', async () => {
    const n = 50;
    const batch = await Promise.all(Array.from({ length: n }, () => NetnsHolder.start()));
    holders.push(...batch);
    const basePort = 20000 + (process.pid % 20000);
    const ids = batch.map((_, i) => containerId(`c${i}`));
    const mine = batch.map(
      (h, i) => new Worker({ config, id: ids[i], netnsPath: h.netnsPath, pid: h.pid, annotations: { 'io.hutch.ports': `${basePort + i}:80` } }),
    );
    workers.push(...mine);
    const ready = await Promise.all(mine.map((w) => w.next('ready')));
    const ips = ready.map((e) => (e.result as NetworkResult).ips[0].address);
    assert.equal(new Set(ips).size, n, `unique addresses: ${ips.join(' ')}`);
    assert.equal(listDir(path.join(netDir, 'ips')).length, n);
    for (let i = 0; i < n; i++) {
      assert.equal(linkExists(hostVethName(bridge, ids[i])), true);
      assert.equal(iptablesLinesWith(`hutch:${bridge}:${ids[i]}"`).length, 2, 'a DNAT and an accept rule per port');
    }

    for (const w of mine) w.child.stdin?.write('go\n');
    await Promise.all(mine.map((w) => w.next('done')));
    assert.deepEqual(await Promise.all(mine.map((w) => w.exited)), Array(n).fill(0));
    for (const id of ids) assert.equal(linkExists(hostVethName(bridge, id)), false, `veth of ${id} gone`);
    assert.deepEqual(iptablesLinesWith(`hutch:${bridge}:`), []);
    assert.deepEqual(listDir(path.join(netDir, 'ips')), []);
    assert.deepEqual(listDir(path.join(netDir, 'containers')), []);
    assert.deepEqual(listDir(path.join(stateDir, 'ports')), []);
    await Promise.all(batch.map((h) => h.kill()));
  });

  for (const step of ['reserved', 'veth', 'configured', 'ports'] as BridgeSetupStep[]) {
    it(`cleans a setup killed after "${step}": reclaim frees it, and teardown by id does too`, async () => {
      for (const cleaner of ['reclaim', 'teardown'] as const) {
        const h = await NetnsHolder.start();
        holders.push(h);
        const id = containerId(`k${step.slice(0, 3)}${cleaner[0]}`);
        const w = new Worker({ config, id, netnsPath: h.netnsPath, pid: h.pid, annotations: { 'io.hutch.ports': `${19000 + (process.pid % 1000)}:80` }, pauseAt: step });
        workers.push(w);
        await w.next('paused');
        w.child.kill('SIGKILL');
        await w.exited;

        const veth = hostVethName(bridge, id);
        assert.equal(fs.existsSync(path.join(netDir, 'containers', `${id}.json`)), true, 'the record describes the half-made setup');
        assert.equal(listDir(path.join(netDir, 'ips')).length, 1);
        assert.equal(linkExists(veth), step !== 'reserved');
        if (step === 'ports') assert.equal(iptablesLinesWith(`hutch:${bridge}:${id}"`).length, 2);

        if (cleaner === 'reclaim') assert.deepEqual(await plugin.reclaim(), [id]);
        else await plugin.teardown({ id, netnsPath: h.netnsPath });

        assert.equal(linkExists(veth), false);
        assert.deepEqual(iptablesLinesWith(`hutch:${bridge}:${id}"`), []);
        assert.deepEqual(listDir(path.join(netDir, 'ips')), []);
        assert.deepEqual(listDir(path.join(netDir, 'containers')), []);
        assert.deepEqual(listDir(path.join(stateDir, 'ports')), []);
        assert.doesNotMatch(await h.exec(['ip', '-o', 'link']), /eth0/);
        await h.kill();
      }
    });
  }

  it('reclaims the address and rules of a container whose namespace vanished without teardown', async () => {
    const h = await NetnsHolder.start();
    holders.push(h);
    const id = containerId('gone');
    const r = await plugin.setup({ id, netnsPath: h.netnsPath, pid: h.pid, annotations: { 'io.hutch.ports': `${18000 + (process.pid % 1000)}:80` } });
    assert.deepEqual(await plugin.reclaim(), [], 'a live container is not reclaimed');
    await h.kill(); // the namespace goes, and the kernel deletes both veth ends with it (in a work queue: wait)
    await retry(200, 25, () => assert.equal(linkExists(r.interfaces[0].name), false));
    assert.deepEqual(await plugin.reclaim(), [id]);
    assert.deepEqual(iptablesLinesWith(`hutch:${bridge}:${id}"`), []);
    assert.deepEqual(listDir(path.join(netDir, 'ips')), []);
    assert.deepEqual(listDir(path.join(stateDir, 'ports')), []);
    // the runtime's delete comes later and finds nothing left to do
    await plugin.teardown({ id, netnsPath: h.netnsPath, result: r });
  });

  it('reclaims by itself when the pool runs out', async () => {
    const small = new BridgePlugin({ name: linkName('hb', 'p'), subnet: testSubnet('pool', 30), stateDir });
    const h1 = await NetnsHolder.start();
    const h2 = await NetnsHolder.start();
    holders.push(h1, h2);
    try {
      const r1 = await small.setup({ id: containerId('p1'), netnsPath: h1.netnsPath, pid: h1.pid, annotations: {} });
      await h1.kill(); // gone without teardown: its address is only reclaimable
      await retry(200, 25, () => assert.equal(linkExists(r1.interfaces[0].name), false));
      const r2 = await small.setup({ id: containerId('p2'), netnsPath: h2.netnsPath, pid: h2.pid, annotations: {} });
      assert.equal(r2.ips[0].address.endsWith('/30'), true);
      await small.teardown({ id: containerId('p2'), result: r2 });
    } finally {
      await small.removeNetwork({ force: true });
    }
  });
});
