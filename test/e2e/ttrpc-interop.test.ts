/**
 * Our ttrpc client against Go's ttrpc server, as containerd-shim-runc-v2 serves it:
 * unary calls, status codes, the 4 MiB limit and a server that closes the connection
 * on Shutdown. (containerd's client against our server is test/e2e/shim-contract.)
 */
import assert = require('node:assert/strict');
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { native } from '../../addon';
import { containerd, google } from '../../proto/gen/task';
import { ttrpc } from '../../proto/gen/ttrpc';
import { encodeHeader, FrameReader, type Frame } from '../../shim/ttrpc/frame';
import { Code, MESSAGE_LENGTH_MAX, TtrpcClient, TtrpcError } from '../../shim/ttrpc';
import { isRoot, RUN_ID, tempDir } from '../fixtures/env';

const RUNC_SHIM = '/usr/bin/containerd-shim-runc-v2';
const TASK = 'containerd.task.v2.Task';
const v2 = containerd.task.v2;

async function connectWithRetries(sock: string, child: ChildProcess): Promise<TtrpcClient> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await TtrpcClient.connect(sock);
    } catch (e) {
      if (attempt >= 200 || child.exitCode !== null) throw e;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

describe('ttrpc interop with Go (containerd-shim-runc-v2)', { skip: (!isRoot() || !fs.existsSync(RUNC_SHIM)) && 'needs root and containerd-shim-runc-v2' }, () => {
  let dir: string;
  let sock: string;
  let shim: ChildProcess;
  let client: TtrpcClient;
  let logReader: net.Socket;
  let logHold: number;

  before(async () => {
    dir = tempDir('ttrpc-interop');
    sock = path.join(dir, 'shim.sock');
    // the runc shim opens `log` in its working directory for writing: give it a reader
    native().mkfifo(path.join(dir, 'log'), 0o700);
    logReader = new net.Socket({ fd: fs.openSync(path.join(dir, 'log'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK), readable: true, writable: false });
    logReader.resume();
    logHold = fs.openSync(path.join(dir, 'log'), fs.constants.O_WRONLY);
    // serving mode on our own socket path (-socket), so nothing lands in /run/containerd/s
    shim = spawn(RUNC_SHIM, ['-namespace', `hutch-${RUN_ID}`, '-id', `interop-${RUN_ID}`, '-address', path.join(dir, 'none.sock'), '-socket', sock], {
      cwd: dir,
      env: { ...process.env, TTRPC_ADDRESS: path.join(dir, 'none.sock.ttrpc') },
      stdio: 'ignore',
    });
    client = await connectWithRetries(sock, shim);
  });

  after(async () => {
    client?.close();
    if (shim && shim.exitCode === null && shim.signalCode === null) {
      shim.kill('SIGKILL');
      await new Promise((r) => shim.once('exit', r));
    }
    logReader?.destroy();
    if (logHold !== undefined) fs.closeSync(logHold);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('makes a unary call and decodes the answer', async () => {
    const res = await client.call(TASK, 'Connect', v2.ConnectRequest, v2.ConnectResponse, { id: 'nope' }, { timeoutMs: 5000, metadata: { 'containerd-namespace-ttrpc': `hutch-${RUN_ID}` } });
    assert.equal(res.shimPid, shim.pid);
  });

  it('gets Go’s status codes: unknown service and method, NotFound from a handler', async () => {
    await assert.rejects(client.call('no.Such', 'X', v2.ConnectRequest, v2.ConnectResponse, {}), (e: TtrpcError) => e.code === Code.Unimplemented && /service no.Such/.test(e.message));
    await assert.rejects(client.call(TASK, 'Nope', v2.ConnectRequest, v2.ConnectResponse, {}), (e: TtrpcError) => e.code === Code.Unimplemented && /method Nope/.test(e.message));
    await assert.rejects(client.call(TASK, 'State', v2.StateRequest, v2.StateResponse, { id: 'missing' }), (e: TtrpcError) => e.code === Code.NotFound);
  });

  it('runs many calls at once on one connection', async () => {
    const all = await Promise.all(Array.from({ length: 32 }, () => client.call(TASK, 'Connect', v2.ConnectRequest, v2.ConnectResponse, {})));
    assert.ok(all.every((r) => r.shimPid === shim.pid));
  });

  it('sends a request of nearly 4 MiB, which Go reads', async () => {
    const id = 'x'.repeat(MESSAGE_LENGTH_MAX - 1000);
    await assert.rejects(client.call(TASK, 'State', v2.StateRequest, v2.StateResponse, { id }), (e: TtrpcError) => e.code === Code.NotFound);
  });

  it('gets ResourceExhausted from Go for an oversized frame, as our server answers it', async () => {
    const raw = net.createConnection(sock);
    await new Promise((r) => raw.once('connect', r));
    const answer = new Promise<Frame>((resolve) => {
      const reader = new FrameReader({ frame: resolve, oversized: () => undefined });
      raw.on('data', (c: Buffer) => reader.push(c));
    });
    raw.write(encodeHeader(1, 1, 0, MESSAGE_LENGTH_MAX + 1));
    raw.write(Buffer.alloc(MESSAGE_LENGTH_MAX + 1));
    const frame = await answer;
    raw.destroy();
    assert.deepEqual([frame.streamId, frame.type], [1, 2]);
    const status = ttrpc.Response.decode(frame.data).status;
    assert.equal(status?.code, Code.ResourceExhausted);
    assert.match(status?.message ?? '', /exceed maximum message size of 4194304/);
  });

  it('ends every call when Go closes the connection after Shutdown', async () => {
    await client.call(TASK, 'Shutdown', v2.ShutdownRequest, google.protobuf.Empty, { id: `interop-${RUN_ID}` }).catch((e: TtrpcError) => {
      // the Go server may close before the answer is read: that is the documented behaviour too
      assert.equal(e.message, 'ttrpc: closed');
    });
    await new Promise<void>((resolve) => client.onClose(() => resolve()));
    await assert.rejects(client.call(TASK, 'Connect', v2.ConnectRequest, v2.ConnectResponse, {}), /ttrpc: closed/);
    if (shim.exitCode === null && shim.signalCode === null) await new Promise((r) => shim.once('exit', r));
  });
});
