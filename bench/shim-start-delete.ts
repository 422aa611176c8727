/**
 * The two short-lived shim processes containerd 1.6 runs per container, `start` and
 * `delete`, timed side by side for containerd-shim-hutch-v2 and containerd-shim-runc-v2
 * while each one's group shim is alive (the case the native launcher answers without
 * Node), and hutch's `delete` with no live shim: answered natively when nothing of the
 * container is left (the normal end of a group), through Node when the runtime still
 * has its state (the shim died under it).
 *
 *   node dist/bench/shim-start-delete.js [--runs N]      (root; needs hyperfine)
 *
 * Each shim gets a bundle with a config.json naming a sandbox (so `start` finds the
 * group's live shim) and a `log` FIFO with a reader, as containerd prepares them.
 * Everything is removed afterwards; both group shims are shut down over ttrpc.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import { native } from '../addon';
import { containerd, google } from '../proto/gen/task';
import { TtrpcClient } from '../shim/ttrpc';
import { REPO_ROOT, RUN_ID, tempDir } from '../test/fixtures/env';

const HUTCH = path.join(REPO_ROOT, 'bin', 'containerd-shim-hutch-v2');
const RUNC = '/usr/bin/containerd-shim-runc-v2';
const TASK = 'containerd.task.v2.Task';
const v2 = containerd.task.v2;

interface Shim {
  name: string;
  binary: string;
  /** the bundle of the container whose start and delete are timed */
  bundle: string;
  address: string;
  close: () => void;
}

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 100;
const namespace = `bench-${RUN_ID}`;
const containerdAddress = `/run/containerd-bench-${RUN_ID}.sock`; // only hashed into the socket name
const env = { ...process.env, TTRPC_ADDRESS: `${containerdAddress}.ttrpc` };

function flags(id: string): string[] {
  return ['-namespace', namespace, '-address', containerdAddress, '-publish-binary', '/usr/bin/containerd', '-id', id];
}

/**
 * A bundle as containerd makes it, at <dir>/<id> (the runc shim's `delete` reads
 * <dir>/<id>/runtime): config.json naming the sandbox, the `runtime` file the runc
 * shim writes at Create, init.pid, and a `log` FIFO being read.
 */
function makeBundle(dir: string, id: string, sandbox: string): { bundle: string; close: () => void } {
  const bundle = path.join(dir, id);
  fs.mkdirSync(bundle);
  fs.writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', annotations: { 'io.kubernetes.cri.sandbox-id': sandbox } }));
  fs.writeFileSync(path.join(bundle, 'runtime'), 'runc');
  fs.writeFileSync(path.join(bundle, 'init.pid'), '1');
  native().mkfifo(path.join(bundle, 'log'), 0o700);
  const reader = new net.Socket({ fd: fs.openSync(path.join(bundle, 'log'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK), readable: true, writable: false });
  reader.resume();
  const hold = fs.openSync(path.join(bundle, 'log'), fs.constants.O_WRONLY);
  return {
    bundle,
    close: () => {
      reader.destroy();
      fs.closeSync(hold);
    },
  };
}

async function connect(address: string): Promise<TtrpcClient> {
  const sock = address.replace(/^unix:\/\//, '');
  for (let attempt = 0; ; attempt++) {
    try {
      const client = await TtrpcClient.connect(sock);
      await client.call(TASK, 'Connect', v2.ConnectRequest, v2.ConnectResponse, {}, { timeoutMs: 5000 });
      return client;
    } catch (e) {
      if (attempt > 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Starts the group shim (its first container's `start`), waits until it answers, and prepares a second container of the group. */
async function startGroupShim(name: string, binary: string): Promise<Shim> {
  const dir = tempDir(`bench-${name}`);
  const sandbox = `pod-${name}-${RUN_ID}`;
  const first = makeBundle(dir, `${name}-first`, sandbox);
  const second = makeBundle(dir, 'c2', sandbox);
  const out = execFileSync(binary, [...flags(`${name}-first`), 'start'], { cwd: first.bundle, env, stdio: ['ignore', 'pipe', 'pipe'] }).toString().trim();
  const client = await connect(out);
  client.close();
  return {
    name,
    binary,
    bundle: second.bundle,
    address: out,
    close: () => {
      first.close();
      second.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function shutdown(shim: Shim): Promise<void> {
  const client = await TtrpcClient.connect(shim.address.replace(/^unix:\/\//, ''));
  await client.call(TASK, 'Shutdown', v2.ShutdownRequest, google.protobuf.Empty, { id: `${shim.name}-first` }).catch(() => undefined);
  await new Promise<void>((resolve) => client.onClose(() => resolve()));
}

/** hyperfine's median (and spread) in ms for one command, run without a shell from `cwd`. */
function hyperfine(label: string, argv: string[], cwd: string, prepare?: string, extraEnv: Record<string, string> = {}): { label: string; median: number; min: number; max: number } {
  const json = path.join(cwd, `hf-${label.replace(/\W+/g, '_')}.json`);
  const command = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(' ');
  const r = spawnSync('hyperfine', ['-N', '--warmup', '5', '--runs', String(RUNS), ...(prepare ? ['--prepare', prepare] : []), '--export-json', json, '--command-name', label, command], {
    cwd,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`hyperfine ${label} failed`);
  const result = (JSON.parse(fs.readFileSync(json, 'utf8')) as { results: { median: number; min: number; max: number }[] }).results[0];
  fs.rmSync(json);
  return { label, median: result.median * 1000, min: result.min * 1000, max: result.max * 1000 };
}

async function main(): Promise<void> {
  if (spawnSync('hyperfine', ['--version']).status !== 0) throw new Error('hyperfine is not installed');
  const socketDirExisted = fs.existsSync('/run/containerd/s');
  const runcRoot = `/run/containerd/runc/${namespace}`;
  const shims: Shim[] = [];
  try {
    const hutch = await startGroupShim('hutch', HUTCH);
    shims.push(hutch);
    const runc = await startGroupShim('runc', RUNC);
    shims.push(runc);

    const rows: [string, number, number][] = [];
    const line = (what: string, h: { median: number }, r: { median: number }): void => {
      rows.push([what, h.median, r.median]);
    };
    const hs = hyperfine('hutch start (live shim)', [HUTCH, ...flags('c2'), 'start'], hutch.bundle);
    const rs = hyperfine('runc start (live shim)', [RUNC, ...flags('c2'), 'start'], runc.bundle);
    line('start, group shim alive', hs, rs);
    const hd = hyperfine('hutch delete (live shim)', [HUTCH, ...flags('c2'), '-bundle', hutch.bundle, 'delete'], hutch.bundle);
    const rd = hyperfine('runc delete (live shim)', [RUNC, ...flags('c2'), '-bundle', runc.bundle, 'delete'], runc.bundle);
    line('delete, group shim alive', hd, rd);

    // hutch's delete without a live shim: native when nothing is left, Node when the
    // runtime still has state (made again before each run); runc's delete never asks its shim
    const lone = tempDir('bench-lone');
    const { bundle: loneBundle, close: closeLone } = makeBundle(lone, 'c3', 'nobody');
    const shimRoot = path.join(lone, 'run-hutch');
    try {
      const hn = hyperfine('hutch delete (no shim, nothing left)', [HUTCH, ...flags('c3'), '-bundle', loneBundle, 'delete'], loneBundle, undefined, { HUTCH_SHIM_ROOT: shimRoot });
      line('delete, no shim, nothing left', hn, rd);
      const hs = hyperfine('hutch delete (no shim, state left: Node)', [HUTCH, ...flags('c3'), '-bundle', loneBundle, 'delete'], loneBundle, `mkdir -p ${path.join(shimRoot, namespace, 'c3')}`, {
        HUTCH_SHIM_ROOT: shimRoot,
      });
      line('delete, no shim, state left', hs, rd);
    } finally {
      closeLone();
      fs.rmSync(lone, { recursive: true, force: true });
    }

    console.log(`\nshim start/delete latency, median of ${RUNS} runs (ms)`);
    console.log(`${'case'.padEnd(30)}${'hutch'.padStart(10)}${'runc shim'.padStart(12)}${'ratio'.padStart(9)}`);
    for (const [what, h, r] of rows) console.log(`${what.padEnd(30)}${h.toFixed(2).padStart(10)}${r.toFixed(2).padStart(12)}${(h / r).toFixed(2).padStart(8)}x`);
  } finally {
    for (const s of shims) {
      await shutdown(s).catch((e: Error) => console.error(`shutdown ${s.name}: ${e.message}`));
      s.close();
    }
    // runc's `delete` may leave its (empty) state root for our namespace
    if (fs.existsSync(runcRoot)) fs.rmdirSync(runcRoot);
    if (!socketDirExisted) {
      try {
        fs.rmdirSync('/run/containerd/s'); // only if empty: someone else may use it by now
      } catch {
        // not empty or gone
      }
    }
  }
}

main().catch((e: Error) => {
  console.error(e.message);
  process.exit(1);
});
