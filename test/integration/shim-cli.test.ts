/**
 * containerd-shim-hutch-v2 driven the way containerd drives it, without containerd:
 * `start` daemonizes a serving shim (own session, stdio detached, socket 0600, logs in
 * the bundle's `log` FIFO), a second `start` in the same group reuses it, `delete`
 * goes through it, Shutdown and SIGTERM end it and remove the socket. And the ttrpc
 * server refuses a peer of another user (SO_PEERCRED), which needs root to set up.
 */
import assert = require('node:assert/strict');
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { native } from '../../addon';
import { containerd, google } from '../../proto/gen/task';
import { Code, defineMethod, TtrpcClient, TtrpcError, TtrpcServer } from '../../shim/ttrpc';
import { isRoot, REPO_ROOT, RUN_ID, tempDir } from '../fixtures/env';

const LAUNCHER = path.join(REPO_ROOT, 'bin', 'containerd-shim-hutch-v2');
const v2 = containerd.task.v2;
const TASK = 'containerd.task.v2.Task';

function run(args: string[], cwd: string, env: Record<string, string>): Promise<{ status: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(LAUNCHER, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    // 'close': both pipes reached EOF too — a start that leaves them open to its server never gets here
    child.on('close', (status) => resolve({ status: status ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
  });
}

/** Resolves once `pid` has exited (a pidfd, no polling). */
function exited(pid: number): Promise<void> {
  let fd: number;
  try {
    fd = native().pidfdOpen(pid);
  } catch {
    return Promise.resolve(); // already gone
  }
  return new Promise((resolve) => {
    const watch = native().watchExit(fd, false, () => {
      watch.close();
      fs.closeSync(fd);
      resolve();
    });
  });
}

/**
 * The `log` FIFO containerd would make, with a reader collecting lines. We hold a
 * write end too, so the reader does not see EOF before the shim opens its own.
 */
function logFifo(bundle: string): { waitFor: (match: (line: string) => boolean) => Promise<string[]>; close: () => void } {
  const p = path.join(bundle, 'log');
  native().mkfifo(p, 0o700);
  const readFd = fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  const holdFd = fs.openSync(p, fs.constants.O_WRONLY);
  const reader = new net.Socket({ fd: readFd, readable: true, writable: false });
  let text = '';
  let wake: (() => void) | undefined;
  reader.on('data', (c: Buffer) => {
    text += c.toString();
    wake?.();
  });
  const lines = (): string[] => text.split('\n').filter(Boolean);
  return {
    waitFor: async (match) => {
      for (let i = 0; i < 100 && !lines().some(match); i++) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      return lines();
    },
    close: () => {
      reader.destroy();
      fs.closeSync(holdFd);
    },
  };
}

/** A runtime state for a container whose init (pid, with a start time that cannot match) is gone. */
function fakeRuntimeState(root: string, id: string, bundle: string, pid: number): void {
  fs.mkdirSync(path.join(root, id), { recursive: true, mode: 0o700 });
  const record = { version: 1, id, bundle, rootfs: path.join(bundle, 'rootfs'), pid, pidStartTime: 'gone', created: new Date().toISOString(), owner: 'root', status: 'running', spec: { ociVersion: '1.0.2' }, rootless: false };
  fs.writeFileSync(path.join(root, id, 'state.json'), JSON.stringify(record));
}

describe('shim CLI, serving and grouping', { skip: !isRoot() && 'needs root (subreaper, other-user peer)' }, () => {
  let dir: string;
  let env: Record<string, string>;
  const cleanups: (() => void)[] = [];

  before(() => {
    dir = tempDir('shim-cli');
    fs.mkdirSync(path.join(dir, 's'));
    env = { HUTCH_SHIM_SOCKET_DIR: path.join(dir, 's'), HUTCH_SHIM_ROOT: path.join(dir, 'run-hutch'), TTRPC_ADDRESS: path.join(dir, 'no-containerd.ttrpc') };
  });
  after(() => {
    for (const c of cleanups) c();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** SIGKILLs `pid` when the suite ends, should a test fail before the shim exits (by pidfd: no pid reuse). */
  function killAfter(pid: number): void {
    const fd = native().pidfdOpen(pid);
    cleanups.push(() => {
      try {
        native().pidfdSendSignal(fd, 9);
      } catch {
        // exited already
      }
      fs.closeSync(fd);
    });
  }

  function bundle(name: string, sandbox: string): string {
    const b = path.join(dir, name);
    fs.mkdirSync(b);
    fs.writeFileSync(path.join(b, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', annotations: { 'io.kubernetes.cri.sandbox-id': sandbox } }));
    return b;
  }

  const flags = (id: string): string[] => ['-namespace', `ns-${RUN_ID}`, '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', id];

  it('starts a detached shim, reuses it for the group, deletes through it, and ends on Shutdown', async () => {
    const b1 = bundle('b1', 'pod-a');
    const log = logFifo(b1);
    cleanups.push(log.close);
    const first = await run([...flags('c1'), 'start'], b1, env);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stderr, '');
    const address = first.stdout.toString();
    assert.match(address, /^unix:\/\/.*\/s\/[0-9a-f]{64}$/);
    assert.equal(fs.readFileSync(path.join(b1, 'address'), 'utf8'), address);
    const sock = address.slice('unix://'.length);
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);

    const client = await TtrpcClient.connect(sock);
    const info = await client.call(TASK, 'Connect', v2.ConnectRequest, v2.ConnectResponse, { id: 'c1' });
    const pid = info.shimPid;
    killAfter(pid);
    const gone = exited(pid);
    // its own session, nothing of the start process's stdio
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    assert.equal(Number(stat[3]), pid, 'session id = its pid');
    for (const fd of [0, 1, 2]) assert.equal(fs.readlinkSync(`/proc/${pid}/fd/${fd}`), '/dev/null');
    assert.equal(fs.readlinkSync(`/proc/${pid}/cwd`), b1);

    // a bundle whose config.json is no OCI spec: one clear error naming the field, nothing kept
    await assert.rejects(
      client.call(TASK, 'Create', v2.CreateTaskRequest, v2.CreateTaskResponse, { id: 'c1', bundle: b1 }),
      (e: TtrpcError) => e.code === Code.InvalidArgument && /root: expected an object/.test(e.message),
    );
    assert.equal((await client.call(TASK, 'Connect', v2.ConnectRequest, v2.ConnectResponse, { id: 'c1' })).taskPid, 0);

    // same pod: the same shim, answered by the launcher without a second server
    const b2 = bundle('b2', 'pod-a');
    const second = await run([...flags('c2'), 'start'], b2, { ...env, HUTCH_NODE: '/bin/false' });
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout.toString(), address);
    // another pod: another shim
    const b3 = bundle('b3', 'pod-b');
    const third = await run([...flags('c3'), 'start'], b3, env);
    assert.notEqual(third.stdout.toString(), address);
    const other = await TtrpcClient.connect(third.stdout.toString().slice('unix://'.length));
    const otherPid = (await other.call(TASK, 'Connect', v2.ConnectRequest, v2.ConnectResponse, {})).shimPid;
    killAfter(otherPid);
    const otherGone = exited(otherPid);
    other.close();

    // delete, handed to the live shim by the launcher (no Node: /bin/false would fail it)
    fakeRuntimeState(path.join(dir, 'run-hutch', `ns-${RUN_ID}`), 'c2', b2, 4242);
    const del = await run([...flags('c2'), '-bundle', b2, 'delete'], b2, { ...env, HUTCH_NODE: '/bin/false' });
    assert.equal(del.status, 0, del.stderr);
    const res = v2.DeleteResponse.decode(del.stdout);
    assert.deepEqual([res.pid, res.exitStatus], [4242, 137]);
    assert.equal(fs.existsSync(path.join(dir, 'run-hutch', `ns-${RUN_ID}`, 'c2')), false, "the runtime's state is gone");
    assert.ok(Math.abs((res.exitedAt?.seconds?.toNumber() ?? 0) - Date.now() / 1000) < 600, 'exited_at is now-ish');

    // Shutdown with no container left: the answer arrives, then the shim exits and its socket goes
    await client.call(TASK, 'Shutdown', v2.ShutdownRequest, google.protobuf.Empty, { id: 'c1' });
    await gone;
    assert.equal(fs.existsSync(sock), false);
    const serving = (l: string): boolean => (JSON.parse(l) as { msg: string }).msg === 'serving';
    const lines = await log.waitFor(serving);
    assert.ok(lines.some(serving), `log: ${lines.join('\n')}`);

    // SIGTERM ends the other one the same way
    process.kill(otherPid, 'SIGTERM');
    await otherGone;
    assert.equal(fs.existsSync(third.stdout.toString().slice('unix://'.length)), false);
  });

  it('delete with no live shim answers from the bundle, printing only the DeleteResponse', async () => {
    const b = bundle('b4', 'pod-c');
    fs.writeFileSync(path.join(b, 'address'), `unix://${path.join(dir, 's', 'dead')}`);
    fakeRuntimeState(path.join(dir, 'run-hutch', `ns-${RUN_ID}`), 'c4', b, 77);
    const del = await run([...flags('c4'), '-bundle', b, 'delete'], dir, env);
    assert.equal(del.status, 0, del.stderr);
    assert.equal(del.stderr, '');
    const res = v2.DeleteResponse.decode(del.stdout);
    assert.deepEqual([res.pid, res.exitStatus], [77, 137]);
    assert.equal(fs.existsSync(path.join(dir, 'run-hutch', `ns-${RUN_ID}`, 'c4')), false, "the runtime's state is gone");
  });

  it('delete with no live shim and nothing of the container left answers without Node', async () => {
    const b = bundle('b5', 'pod-d');
    fs.mkdirSync(path.join(b, 'rootfs'));
    fs.writeFileSync(path.join(b, 'address'), `unix://${path.join(dir, 's', 'dead')}`);
    const del = await run([...flags('c5'), '-bundle', b, 'delete'], dir, { ...env, HUTCH_NODE: '/bin/false' });
    assert.equal(del.status, 0, del.stderr);
    assert.equal(del.stderr, '');
    const res = v2.DeleteResponse.decode(del.stdout);
    assert.deepEqual([res.pid, res.exitStatus], [0, 137]);
  });

  it('delete with no live shim while <bundle>/rootfs is mounted cleans up in Node', async () => {
    const b = bundle('b6', 'pod-e');
    const rootfs = path.join(b, 'rootfs');
    fs.mkdirSync(rootfs);
    native().mount('none', rootfs, 'tmpfs', 0, null);
    // a CA file Node would warn about (on the stream containerd reads) if the launcher passed it on
    const del = await run([...flags('c6'), '-bundle', b, 'delete'], dir, { ...env, NODE_EXTRA_CA_CERTS: path.join(dir, 'no-such-ca.pem') });
    assert.equal(del.status, 0, del.stderr);
    assert.equal(del.stderr, '');
    assert.equal(v2.DeleteResponse.decode(del.stdout).exitStatus, 137);
    // the mount is what made the launcher hand it over, and the cleanup removed it
    assert.ok(!fs.readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${rootfs} `), 'rootfs unmounted');
  });

  it('fails start with one clear line when the namespace is missing', async () => {
    const r = await run(['-id', 'x', 'start'], dir, env);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, 'containerd-shim-hutch-v2: shim namespace cannot be empty\n');
    assert.equal(r.stdout.length, 0);
  });

  it('refuses a connection from another user (SO_PEERCRED)', async () => {
    const open = path.join(dir, 'open');
    fs.mkdirSync(open, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
    const sock = path.join(open, 'sock');
    const server = new TtrpcServer();
    server.register({ serviceName: TASK, methods: { Connect: defineMethod(v2.ConnectRequest, v2.ConnectResponse, () => ({ shimPid: 1 })) } });
    await server.listen(sock, 0o666); // reachable by anyone: only the credential check stands in the way
    try {
      const probe = `
        const { TtrpcClient } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'shim', 'ttrpc'))});
        const { containerd } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'proto', 'gen', 'task'))});
        TtrpcClient.connect(${JSON.stringify(sock)})
          .then((c) => c.call('${TASK}', 'Connect', containerd.task.v2.ConnectRequest, containerd.task.v2.ConnectResponse, {}))
          .then(() => console.log('answered'), (e) => console.log('refused: ' + e.message));`;
      const asNobody = await new Promise<string>((resolve) => {
        const child = spawn(process.execPath, ['-e', probe], { uid: 65534, gid: 65534, stdio: ['ignore', 'pipe', 'inherit'] });
        let out = '';
        child.stdout.on('data', (c) => (out += c));
        child.on('close', () => resolve(out.trim()));
      });
      assert.equal(asNobody, 'refused: ttrpc: closed');
      const c = await TtrpcClient.connect(sock);
      assert.equal((await c.call(TASK, 'Connect', v2.ConnectRequest, v2.ConnectResponse, {})).shimPid, 1);
      c.close();
    } finally {
      await server.close();
    }
  });
});
