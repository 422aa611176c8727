/**
 * containerd-shim-hutch-v2 against containerd-shim-runc-v2 under one private
 * containerd 1.6, side by side in one run, ratios printed (hutch ÷ runc shim):
 *
 *   latency     `ctr run --rm IMAGE true`, end to end. hutch twice: "cold" (grouping
 *               `pod`, so under ctr every container boots its own Node shim) and
 *               "warm" (grouping `namespace` with a shim already serving the
 *               namespace — the steady state of a node, where a pod's sandbox keeps
 *               its shim alive for the pod's containers).
 *   memory      RSS and PSS (/proc/<pid>/smaps_rollup) summed over the shim
 *               processes serving 20 running containers, per container; hutch with
 *               `namespace` grouping (one shim) and with `pod` (one per container).
 *   throughput  a container writing 512 MiB to stdout, read by ctr.
 *   exec        `ctr task exec … true` in a running container.
 *
 *   node dist/bench/shim-containerd.js [--runs N]        (root)
 *
 * Everything lives under a temporary directory and is removed, containers and the
 * namespaces' parent cgroups included.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

import { startContainerd, type Containerd } from '../test/fixtures/containerd';
import { REPO_ROOT, RUN_ID, tempDir } from '../test/fixtures/env';
import { busyboxBaseEntries, layerTar, writeDockerArchive } from '../test/fixtures/image-builder';
import { median as medianOf } from './lib';

/** Even counts: the mean of the two middle values. */
const median = (xs: number[]): number => medianOf(xs, 'mean');

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;
const IMAGE = `hutch.bench/busybox:${RUN_ID}`;
const HUTCH = 'io.containerd.hutch.v2';
const RUNC = 'io.containerd.runc.v2';
const MIB = 1024 * 1024;

let cd: Containerd;
let seq = 0;
const nsOf = { runc: `bench-runc-${RUN_ID}`, hutch: `bench-hutch-${RUN_ID}` };
type Peer = keyof typeof nsOf;
const runtimeOf: Record<Peer, string> = { runc: RUNC, hutch: HUTCH };

function ctr(peer: Peer, args: string[], allowFail = false) {
  return cd.ctr(['-n', nsOf[peer], ...args], { allowFail, timeoutMs: 300_000 });
}

function id(tag: string): string {
  return `b${RUN_ID}-${tag}-${seq++}`;
}

/** Wall time of one command, in ms; stdout to /dev/null. */
function timed(argv: string[]): number {
  const t = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 600_000 });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return ms;
}

function runRm(peer: Peer, args: string[]): string[] {
  return ['ctr', '-a', cd.address, '-n', nsOf[peer], 'run', '--rm', '--runtime', runtimeOf[peer], IMAGE, id(peer), ...args];
}

function setGrouping(configFile: string, group: 'pod' | 'namespace'): void {
  fs.writeFileSync(configFile, JSON.stringify({ shim: { group } }));
}

/** Shim processes serving a namespace, by their command line. */
function shimPids(peer: Peer): number[] {
  const out: number[] = [];
  for (const p of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      const isShim = peer === 'runc' ? path.basename(cmd[0]) === 'containerd-shim-runc-v2' : cmd[0].startsWith('containerd-shim-hutch-v2 ');
      const line = cmd.join(' ');
      if (isShim && line.includes(`-namespace ${nsOf[peer]} `) && !/ (start|delete)$/.test(line.trim())) out.push(Number(p));
    } catch {
      // gone
    }
  }
  return out;
}

function memoryOf(pids: number[]): { rss: number; pss: number } {
  let rss = 0;
  let pss = 0;
  for (const p of pids) {
    const text = fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
    rss += Number(/^Rss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0) * 1024;
    pss += Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? 0) * 1024;
  }
  return { rss, pss };
}

function startDetached(peer: Peer, count: number): Promise<string[]> {
  const ids = Array.from({ length: count }, () => id(`${peer}-mem`));
  return Promise.all(
    ids.map(
      (cid) =>
        new Promise<string>((resolve, reject) => {
          const p = spawn('ctr', ['-a', cd.address, '-n', nsOf[peer], 'run', '-d', '--runtime', runtimeOf[peer], IMAGE, cid, 'sleep', '100000'], { stdio: ['ignore', 'ignore', 'pipe'] });
          let err = '';
          p.stderr.on('data', (d: Buffer) => (err += d));
          p.on('exit', (code) => (code === 0 ? resolve(cid) : reject(new Error(`${cid}: ${err}`))));
        }),
    ),
  );
}

function removeAll(peer: Peer, ids: string[]): void {
  for (const cid of ids) {
    ctr(peer, ['task', 'kill', '-s', 'KILL', cid], true);
    for (let i = 0; i < 100 && !/STOPPED|^$/.test(taskStatus(peer, cid)); i++) spawnSync('sleep', ['0.05']);
    ctr(peer, ['task', 'delete', cid], true);
    ctr(peer, ['containers', 'rm', cid], true);
  }
}

function taskStatus(peer: Peer, cid: string): string {
  const line = ctr(peer, ['task', 'ls'], true).stdout.split('\n').find((l) => l.startsWith(`${cid} `));
  return line ? line.trim().split(/\s+/)[2] : '';
}

function row(what: string, h: number, r: number, unit: string, digits = 1): void {
  console.log(`${what.padEnd(44)}${h.toFixed(digits).padStart(10)}${r.toFixed(digits).padStart(12)} ${unit.padEnd(6)}${(h / r).toFixed(2).padStart(7)}x`);
}

async function main(): Promise<void> {
  const work = tempDir('bench-shim');
  const sockets = tempDir('bench-shim-s');
  const configFile = path.join(work, 'hutch.json');
  setGrouping(configFile, 'pod');
  const archive = path.join(work, 'image.tar');
  await writeDockerArchive(archive, { name: IMAGE, layers: [await layerTar(busyboxBaseEntries())] });
  cd = await startContainerd('bench-shim', {
    pathPrefix: [path.join(REPO_ROOT, 'bin')],
    env: { HUTCH_SHIM_SOCKET_DIR: sockets, HUTCH_SHIM_ROOT: path.join(work, 'run-hutch'), HUTCH_CONFIG: configFile },
    logLevel: 'info', // debug would make both shims (-debug) log every call
  });
  const leftovers: [Peer, string][] = [];
  try {
    for (const peer of ['runc', 'hutch'] as Peer[]) ctr(peer, ['images', 'import', archive]);
    console.log(`containerd ${cd.address}; ${RUNS} runs per case\n`);
    console.log(`${'case'.padEnd(44)}${'hutch'.padStart(10)}${'runc shim'.padStart(12)} ${''.padEnd(6)}${'ratio'.padStart(8)}`);

    // latency: warm-ups, then runc / hutch cold / hutch warm / runc again (drift shows)
    for (let i = 0; i < 3; i++) {
      timed(runRm('runc', ['true']));
      timed(runRm('hutch', ['true']));
    }
    const runcA = Array.from({ length: RUNS }, () => timed(runRm('runc', ['true'])));
    const cold = Array.from({ length: RUNS }, () => timed(runRm('hutch', ['true'])));
    setGrouping(configFile, 'namespace');
    const keeper = id('keeper');
    ctr('hutch', ['run', '-d', '--runtime', HUTCH, IMAGE, keeper, 'sleep', '100000']);
    leftovers.push(['hutch', keeper]);
    for (let i = 0; i < 3; i++) timed(runRm('hutch', ['true']));
    const warm = Array.from({ length: RUNS }, () => timed(runRm('hutch', ['true'])));
    const runcB = Array.from({ length: RUNS }, () => timed(runRm('runc', ['true'])));
    const runcLat = median([...runcA, ...runcB]);
    row('ctr run --rm true, hutch cold: new shim (median)', median(cold), runcLat, 'ms');
    row('ctr run --rm true, hutch warm: group shim up (median)', median(warm), runcLat, 'ms');
    console.log(`${''.padEnd(44)}(default grouping "auto": ctr containers of a namespace share a shim, so warm whenever one runs)`);
    console.log(`${''.padEnd(44)}(runc shim blocks: ${median(runcA).toFixed(1)} and ${median(runcB).toFixed(1)} ms)`);

    // exec latency, in the keeper (hutch) and a runc container
    const runcKeeper = id('keeper');
    ctr('runc', ['run', '-d', '--runtime', RUNC, IMAGE, runcKeeper, 'sleep', '100000']);
    leftovers.push(['runc', runcKeeper]);
    const exec = (peer: Peer, cid: string): number => timed(['ctr', '-a', cd.address, '-n', nsOf[peer], 'task', 'exec', '--exec-id', id('e'), cid, 'true']);
    try {
      for (let i = 0; i < 3; i++) exec('hutch', keeper), exec('runc', runcKeeper);
      const he = Array.from({ length: RUNS }, () => exec('hutch', keeper));
      const re = Array.from({ length: RUNS }, () => exec('runc', runcKeeper));
      row('ctr task exec true (median)', median(he), median(re), 'ms');
    } catch (e) {
      console.log(`ctr task exec: n/a (${(e as Error).message.split('\n')[0].slice(0, 120)})`);
    }

    // throughput: 512 MiB to stdout, the two interleaved (the host's load drifts), medians of 5
    const bytes = 512 * MIB;
    const write = (peer: Peer): number => timed(runRm(peer, ['sh', '-c', `head -c ${bytes} /dev/zero`]));
    const hts: number[] = [];
    const rts: number[] = [];
    for (let i = 0; i < 5; i++) {
      hts.push(write('hutch'));
      rts.push(write('runc'));
    }
    const ht = median(hts);
    const rt = median(rts);
    row('stdout 512 MiB, incl. start (MB/s, median of 5)', bytes / 1e6 / (ht / 1000), bytes / 1e6 / (rt / 1000), 'MB/s');
    row('  the same above each one\'s `true` run', bytes / 1e6 / ((ht - median(warm)) / 1000), bytes / 1e6 / ((rt - runcLat) / 1000), 'MB/s');

    // memory with 20 running containers
    removeAll('hutch', [keeper]);
    leftovers.splice(0, leftovers.length, ['runc', runcKeeper]);
    removeAll('runc', [runcKeeper]);
    leftovers.length = 0;
    const measure = async (peer: Peer): Promise<{ rss: number; pss: number; shims: number }> => {
      const ids = await startDetached(peer, 20);
      ids.forEach((cid) => leftovers.push([peer, cid]));
      spawnSync('sleep', ['1']); // let start-up garbage settle before reading
      const pids = shimPids(peer);
      const m = { ...memoryOf(pids), shims: pids.length };
      removeAll(peer, ids);
      leftovers.length = 0;
      return m;
    };
    const rm = await measure('runc');
    const hn = await measure('hutch'); // namespace grouping: one shim
    setGrouping(configFile, 'pod');
    const hp = await measure('hutch');
    console.log(`shims: runc ${rm.shims}, hutch namespace-grouped ${hn.shims}, hutch pod-grouped ${hp.shims}`);
    row('PSS per container, 20 running (namespace)', hn.pss / 20 / MIB, rm.pss / 20 / MIB, 'MiB', 2);
    row('RSS per container, 20 running (namespace)', hn.rss / 20 / MIB, rm.rss / 20 / MIB, 'MiB', 2);
    row('PSS per container, 20 running (pod)', hp.pss / 20 / MIB, rm.pss / 20 / MIB, 'MiB', 2);
    row('RSS per container, 20 running (pod)', hp.rss / 20 / MIB, rm.rss / 20 / MIB, 'MiB', 2);
  } finally {
    for (const [peer, cid] of leftovers) removeAll(peer, [cid]);
    await cd.stop();
    fs.rmSync(sockets, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
    // ctr puts containers in /<namespace>/<id> cgroups: the namespaces' parents are ours to remove
    for (const ns of Object.values(nsOf)) {
      for (const h of ['', ...fs.readdirSync('/sys/fs/cgroup')]) {
        const cg = path.join('/sys/fs/cgroup', h, ns);
        if (!fs.existsSync(cg)) continue;
        const dirs = spawnSync('find', [cg, '-depth', '-type', 'd'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean);
        for (const d of dirs) fs.rmdirSync(d);
      }
    }
  }
}

main().catch((e: Error) => {
  console.error(e.stack ?? e.message);
  process.exit(1);
});
