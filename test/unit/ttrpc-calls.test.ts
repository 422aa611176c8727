/**
 * Our ttrpc server and client against each other, and the server against a raw
 * socket where the client would not misbehave (even stream ids, oversized frames).
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { containerd, google } from '../../proto/gen/task';
import { ttrpc } from '../../proto/gen/ttrpc';
import { HutchError } from '../../runtime/errors';
import { encodeFrame, FrameReader, MESSAGE_LENGTH_MAX, type Frame } from '../../shim/ttrpc/frame';
import { Code, defineMethod, NAMESPACE_KEY, TtrpcClient, TtrpcError, TtrpcServer, type CallContext } from '../../shim/ttrpc';
import { tempDir } from '../fixtures/env';

const v2 = containerd.task.v2;
const SERVICE = 'hutch.test.v1.Test';

/** A gate a test opens by hand, to order handlers without timing. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Reads frames from a raw socket. */
class RawPeer {
  readonly frames: Frame[] = [];
  private waiters: (() => void)[] = [];
  private readonly reader = new FrameReader({ frame: (f) => this.onFrame(f), oversized: () => assert.fail('oversized answer') });

  constructor(readonly socket: net.Socket) {
    socket.on('data', (c: Buffer) => this.reader.push(c));
  }

  static connect(sock: string): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(sock, () => resolve(new RawPeer(s)));
      s.once('error', reject);
    });
  }

  private onFrame(f: Frame): void {
    this.frames.push(f);
    for (const w of this.waiters.splice(0)) w();
  }

  async next(count: number): Promise<Frame[]> {
    while (this.frames.length < count) await new Promise<void>((r) => this.waiters.push(r));
    return this.frames.splice(0, count);
  }

  request(streamId: number, service: string, method: string, payload: Uint8Array): void {
    const data = ttrpc.Request.encode({ service, method, payload }).finish();
    this.socket.write(encodeFrame(streamId, 1, 0, data));
  }
}

function statusOf(frame: Frame): { code: number; message: string; payload: Uint8Array } {
  const r = ttrpc.Response.decode(frame.data);
  return { code: r.status?.code ?? 0, message: r.status?.message ?? '', payload: r.payload ?? new Uint8Array(0) };
}

describe('ttrpc server and client', () => {
  let dir: string;
  let sock: string;
  let server: TtrpcServer;
  let client: TtrpcClient;
  const seen: CallContext[] = [];
  const hung: CallContext[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();

  before(async () => {
    dir = tempDir('ttrpc-calls');
    sock = path.join(dir, 's');
    server = new TtrpcServer();
    server.register({
      serviceName: SERVICE,
      methods: {
        Echo: defineMethod(v2.ConnectRequest, v2.ConnectResponse, (req, ctx) => {
          seen.push(ctx);
          return { version: req.id, shimPid: process.pid };
        }),
        // waits for the gate named by the request id, then answers with that id
        Blocked: defineMethod(v2.ConnectRequest, v2.ConnectResponse, async (req) => {
          await gates.get(req.id)?.wait;
          return { version: req.id };
        }),
        Open: defineMethod(v2.ConnectRequest, google.protobuf.Empty, (req) => {
          gates.get(req.id)?.open();
          return {};
        }),
        Hang: defineMethod(v2.ConnectRequest, google.protobuf.Empty, (_req, ctx) => {
          hung.push(ctx);
          return new Promise<google.protobuf.IEmpty>(() => undefined);
        }),
        Fail: defineMethod(v2.ConnectRequest, google.protobuf.Empty, (req) => {
          if (req.id === 'hutch') throw new HutchError('delete', `container "x": not found`, { kind: 'not-found' });
          if (req.id === 'errno') throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
          throw new TtrpcError(Code.FailedPrecondition, 'container is running');
        }),
        Big: defineMethod(v2.ConnectRequest, v2.StatsResponse, () => ({
          stats: { type_url: 'x', value: Buffer.alloc(MESSAGE_LENGTH_MAX + 1) },
        })),
      },
    });
    await server.listen(sock);
    client = await TtrpcClient.connect(sock);
  });

  after(async () => {
    client.close();
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const echo = (id: string, opts = {}): Promise<containerd.task.v2.ConnectResponse> =>
    client.call(SERVICE, 'Echo', v2.ConnectRequest, v2.ConnectResponse, { id }, opts);

  it('creates the socket with mode 0600', () => {
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);
  });

  it('answers a call with the handler’s message', async () => {
    const res = await echo('hello');
    assert.equal(res.version, 'hello');
    assert.equal(res.shimPid, process.pid);
  });

  it('gives the handler the namespace header, the deadline and the caller’s credentials', async () => {
    seen.length = 0;
    const t0 = Date.now();
    await echo('md', { metadata: { [NAMESPACE_KEY]: 'k8s.io', 'X-Other': ['a', 'b'] }, timeoutMs: 60_000 });
    const ctx = seen[0];
    assert.equal(ctx.namespace, 'k8s.io');
    assert.deepEqual(ctx.metadata.get('x-other'), ['a', 'b']);
    assert.ok(ctx.deadline !== undefined && ctx.deadline >= t0 + 59_000);
    assert.deepEqual(ctx.peer && [ctx.peer.pid, ctx.peer.uid, ctx.peer.gid], [process.pid, process.getuid?.(), process.getgid?.()]);
  });

  it('uses odd stream ids, starting at 1', async () => {
    const peer = await RawPeer.connect(sock);
    const c = new TtrpcClient(peer.socket);
    // the client writes on the socket; watch what it sends through a second reader
    const sent: number[] = [];
    const origWrite = peer.socket.write.bind(peer.socket);
    const tap = new FrameReader({ frame: (f) => sent.push(f.streamId), oversized: () => undefined });
    peer.socket.write = ((chunk: Buffer, ...rest: never[]) => {
      tap.push(Buffer.from(chunk));
      return origWrite(chunk, ...rest);
    }) as typeof peer.socket.write;
    await Promise.all([1, 2, 3].map((n) => c.call(SERVICE, 'Echo', v2.ConnectRequest, v2.ConnectResponse, { id: String(n) })));
    assert.deepEqual(sent, [1, 3, 5]);
    c.close();
  });

  it('answers an unknown service and an unknown method with Unimplemented', async () => {
    await assert.rejects(client.call('no.such.Service', 'Echo', v2.ConnectRequest, v2.ConnectResponse, {}), (e: TtrpcError) => {
      assert.equal(e.code, Code.Unimplemented);
      assert.equal(e.message, 'service no.such.Service');
      return true;
    });
    await assert.rejects(client.call(SERVICE, 'Nope', v2.ConnectRequest, v2.ConnectResponse, {}), (e: TtrpcError) => {
      assert.equal(e.code, Code.Unimplemented);
      assert.equal(e.message, 'method Nope');
      return true;
    });
  });

  it('maps handler errors to codes: TtrpcError as is, HutchError by kind, errno like Go', async () => {
    const codeOf = (id: string): Promise<number> =>
      client.call(SERVICE, 'Fail', v2.ConnectRequest, google.protobuf.Empty, { id }).then(
        () => -1,
        (e: TtrpcError) => e.code,
      );
    assert.equal(await codeOf('hutch'), Code.NotFound);
    assert.equal(await codeOf('errno'), Code.NotFound);
    assert.equal(await codeOf('other'), Code.FailedPrecondition);
  });

  it('answers concurrent calls in completion order, not request order', async () => {
    gates.set('first', gate());
    const order: string[] = [];
    const first = client.call(SERVICE, 'Blocked', v2.ConnectRequest, v2.ConnectResponse, { id: 'first' }).then((r) => order.push(r.version));
    const second = echo('second').then((r) => order.push(r.version));
    await second;
    assert.deepEqual(order, ['second'], 'the blocked call must not hold up the other');
    await client.call(SERVICE, 'Open', v2.ConnectRequest, google.protobuf.Empty, { id: 'first' });
    await first;
    assert.deepEqual(order, ['second', 'first']);
  });

  it('answers a request on an even stream id with InvalidArgument on that id', async () => {
    const peer = await RawPeer.connect(sock);
    peer.request(2, SERVICE, 'Echo', v2.ConnectRequest.encode({ id: 'x' }).finish());
    const [f] = await peer.next(1);
    assert.equal(f.streamId, 2);
    assert.equal(f.type, 2);
    assert.equal(statusOf(f).code, Code.InvalidArgument);
    peer.socket.destroy();
  });

  it('answers an oversized request with ResourceExhausted and keeps the connection', async () => {
    const peer = await RawPeer.connect(sock);
    const payload = Buffer.alloc(MESSAGE_LENGTH_MAX, 0x41);
    peer.request(1, SERVICE, 'Echo', payload); // envelope + 4 MiB payload > 4 MiB frame
    peer.request(3, SERVICE, 'Echo', v2.ConnectRequest.encode({ id: 'still here' }).finish());
    const frames = await peer.next(2);
    const byId = new Map(frames.map((f) => [f.streamId, statusOf(f)]));
    assert.equal(byId.get(1)?.code, Code.ResourceExhausted);
    assert.match(byId.get(1)?.message ?? '', /exceed maximum message size of 4194304/);
    assert.equal(byId.get(3)?.code, Code.OK);
    assert.equal(v2.ConnectResponse.decode(byId.get(3)?.payload ?? new Uint8Array()).version, 'still here');
    peer.socket.destroy();
  });

  it('answers a payload that does not decode as the request type with Internal', async () => {
    const peer = await RawPeer.connect(sock);
    peer.request(1, SERVICE, 'Echo', Buffer.from([0x0a, 0x7f])); // field 1, length 127, no bytes
    const [f] = await peer.next(1);
    assert.equal(statusOf(f).code, Code.Internal);
    peer.socket.destroy();
  });

  it('refuses to send an oversized request, and fails an oversized response with ResourceExhausted', async () => {
    await assert.rejects(
      client.callRaw(SERVICE, 'Echo', Buffer.alloc(MESSAGE_LENGTH_MAX + 1)),
      (e: TtrpcError) => e.code === Code.ResourceExhausted,
    );
    await assert.rejects(client.call(SERVICE, 'Big', v2.ConnectRequest, v2.StatsResponse, {}), (e: TtrpcError) => e.code === Code.ResourceExhausted);
    assert.equal((await echo('after big')).version, 'after big');
  });

  it('fails a call with DeadlineExceeded when its timeout passes, and tells the handler', async () => {
    hung.length = 0;
    await assert.rejects(
      client.call(SERVICE, 'Hang', v2.ConnectRequest, google.protobuf.Empty, {}, { timeoutMs: 30 }),
      (e: TtrpcError) => e.code === Code.DeadlineExceeded,
    );
    const ctx = hung[0];
    if (!ctx.signal.aborted) await new Promise((r) => ctx.signal.addEventListener('abort', r));
    assert.equal((ctx.signal.reason as Error).name, 'TimeoutError');
    assert.equal((await echo('after timeout')).version, 'after timeout');
  });

  it('fails every pending call with "ttrpc: closed" when the connection is lost', async () => {
    hung.length = 0;
    const c = await TtrpcClient.connect(sock);
    const calls = [1, 2, 3].map(() => c.call(SERVICE, 'Hang', v2.ConnectRequest, google.protobuf.Empty, {}));
    while (hung.length < 3) await echo('sync'); // the server has all three
    const handlerSignals = hung.map((s) => s.signal);
    const closedCalls = Promise.allSettled(calls);
    for (const s of handlerSignals) assert.equal(s.aborted, false);
    // the client's half goes away; the server closes its side, and the client sees EOF
    (c as unknown as { socket: net.Socket }).socket.end();
    const results = await closedCalls;
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const e = (r as PromiseRejectedResult).reason as TtrpcError;
      assert.equal(e.message, 'ttrpc: closed');
      assert.equal(e.code, Code.Unavailable);
    }
    for (const s of handlerSignals) if (!s.aborted) await new Promise((r) => s.addEventListener('abort', r));
    await assert.rejects(c.call(SERVICE, 'Echo', v2.ConnectRequest, v2.ConnectResponse, {}), /ttrpc: closed/);
  });

  it('runs onResponded even when the caller hung up before the answer (a Shutdown must still end the shim)', async () => {
    const dir2 = tempDir('ttrpc-responded');
    const s2 = new TtrpcServer();
    const entered = gate();
    const release = gate();
    const responded = gate();
    s2.register({
      serviceName: SERVICE,
      methods: {
        Shutdown: defineMethod(v2.ConnectRequest, google.protobuf.Empty, async (_req, ctx) => {
          ctx.onResponded(responded.open);
          entered.open();
          await release.wait;
          return {};
        }),
      },
    });
    const p = path.join(dir2, 's');
    await s2.listen(p);
    const c = await TtrpcClient.connect(p);
    const call = c.call(SERVICE, 'Shutdown', v2.ConnectRequest, google.protobuf.Empty, {}).catch(() => undefined);
    await entered.wait;
    c.close();
    await call;
    release.open();
    await responded.wait; // hangs (and the test times out) if the callback is dropped
    await s2.close();
    fs.rmSync(dir2, { recursive: true, force: true });
  });

  it('fails pending calls when the server goes away', async () => {
    const dir2 = tempDir('ttrpc-loss');
    const s2 = new TtrpcServer();
    const entered = gate();
    s2.register({
      serviceName: SERVICE,
      methods: { Hang: defineMethod(v2.ConnectRequest, google.protobuf.Empty, () => (entered.open(), new Promise<google.protobuf.IEmpty>(() => undefined))) },
    });
    const p = path.join(dir2, 's');
    await s2.listen(p);
    const c = await TtrpcClient.connect(p);
    const call = c.call(SERVICE, 'Hang', v2.ConnectRequest, google.protobuf.Empty, {});
    let closedEvent = false;
    c.onClose(() => (closedEvent = true));
    await entered.wait;
    await s2.close();
    await assert.rejects(call, (e: TtrpcError) => e.message === 'ttrpc: closed');
    assert.equal(closedEvent, true);
    assert.equal(fs.existsSync(p), false, 'socket file removed');
    fs.rmSync(dir2, { recursive: true, force: true });
  });

  it('lets calls in flight finish on shutdown, then closes', async () => {
    const dir2 = tempDir('ttrpc-shutdown');
    const s2 = new TtrpcServer();
    const release = gate();
    const entered = gate();
    s2.register({
      serviceName: SERVICE,
      methods: {
        Slow: defineMethod(v2.ConnectRequest, v2.ConnectResponse, async () => {
          entered.open();
          await release.wait;
          return { version: 'done' };
        }),
      },
    });
    const p = path.join(dir2, 's');
    await s2.listen(p);
    const c = await TtrpcClient.connect(p);
    const call = c.call(SERVICE, 'Slow', v2.ConnectRequest, v2.ConnectResponse, {});
    await entered.wait;
    const down = s2.shutdown();
    release.open();
    assert.equal((await call).version, 'done');
    await down;
    await new Promise<void>((r) => c.onClose(() => r()));
    assert.equal(fs.existsSync(p), false);
    fs.rmSync(dir2, { recursive: true, force: true });
  });
});
