/**
 * The event publisher's queue against a ttrpc server of ours serving the events
 * Forward method (containerd itself is in test/e2e/shim-events.test.ts): order,
 * retries, reconnection, per-call timeout.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';

import { containerd, google } from '../../proto/gen/events';
import { EventPublisher, EVENTS_SERVICE } from '../../shim/events';
import { fromTimestamp } from '../../shim/timestamp';
import { Code, defineMethod, TtrpcError, TtrpcServer } from '../../shim/ttrpc';
import { tempDir } from '../fixtures/env';

const ttrpcEvents = containerd.services.events.ttrpc.v1;

interface Received {
  namespace: string;
  topic: string;
  typeUrl: string;
  containerId: string;
  at: number;
}

/** A stand-in for containerd's events service; `behave` decides each call's fate. */
async function eventsServer(sock: string, behave: (n: number) => 'ok' | 'fail' | 'hang' | 'drop' = () => 'ok'): Promise<{ server: TtrpcServer; got: Received[] }> {
  const got: Received[] = [];
  let calls = 0;
  const server = new TtrpcServer();
  server.register({
    serviceName: EVENTS_SERVICE,
    methods: {
      Forward: defineMethod(ttrpcEvents.ForwardRequest, google.protobuf.Empty, async (req) => {
        const fate = behave(++calls);
        if (fate === 'fail') throw new TtrpcError(Code.Unavailable, 'not now');
        if (fate === 'hang') return new Promise<google.protobuf.IEmpty>(() => undefined);
        if (fate === 'drop') {
          await server.close();
          return {};
        }
        const env = req.envelope;
        const evt = containerd.events.TaskOOM.decode(env?.event?.value ?? new Uint8Array());
        got.push({
          namespace: env?.namespace ?? '',
          topic: env?.topic ?? '',
          typeUrl: env?.event?.type_url ?? '',
          containerId: evt.containerId,
          at: fromTimestamp(env?.timestamp),
        });
        return {};
      }),
    },
  });
  await server.listen(sock);
  return { server, got };
}

describe('event publisher', () => {
  const dir = tempDir('events-publisher');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  const sockPath = (): string => path.join(dir, `s${++n}`);

  it('forwards events in the order they were published, in an Envelope naming the namespace', async () => {
    const sock = sockPath();
    const { server, got } = await eventsServer(sock);
    const pub = new EventPublisher({ address: sock, namespace: 'ns1' });
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => pub.publish('/tasks/oom', { containerId: `c${i}` })));
    assert.ok(results.every(Boolean));
    assert.deepEqual(
      got.map((g) => g.containerId),
      Array.from({ length: 50 }, (_, i) => `c${i}`),
    );
    assert.deepEqual([got[0].namespace, got[0].topic, got[0].typeUrl], ['ns1', '/tasks/oom', 'containerd.events.TaskOOM']);
    assert.ok(got[0].at >= t0 - 1 && got[0].at <= Date.now() + 1);
    await pub.close();
    await server.close();
  });

  it('retries a failed forward and keeps the order', async () => {
    const sock = sockPath();
    const { server, got } = await eventsServer(sock, (call) => (call <= 2 ? 'fail' : 'ok'));
    const pub = new EventPublisher({ address: sock, namespace: 'ns', backoffMs: 1 });
    const a = pub.publish('/tasks/oom', { containerId: 'a' });
    const b = pub.publish('/tasks/oom', { containerId: 'b' });
    assert.deepEqual(await Promise.all([a, b]), [true, true]);
    assert.deepEqual(
      got.map((g) => g.containerId),
      ['a', 'b'],
    );
    await pub.close();
    await server.close();
  });

  it('gives up on an event after the last attempt, says so, and goes on with the next', async () => {
    const sock = sockPath();
    const { server, got } = await eventsServer(sock, (call) => (call <= 3 ? 'fail' : 'ok'));
    const pub = new EventPublisher({ address: sock, namespace: 'ns', backoffMs: 1, maxAttempts: 3 });
    const lost = pub.publish('/tasks/oom', { containerId: 'lost' });
    const next = pub.publish('/tasks/oom', { containerId: 'next' });
    assert.equal(await lost, false);
    assert.equal(await next, true);
    assert.deepEqual(
      got.map((g) => g.containerId),
      ['next'],
    );
    await pub.close();
    await server.close();
  });

  it('reconnects when containerd’s socket went away and came back', async () => {
    const sock = sockPath();
    const first = await eventsServer(sock, (call) => (call === 2 ? 'drop' : 'ok'));
    const pub = new EventPublisher({ address: sock, namespace: 'ns', backoffMs: 1, maxAttempts: 1000 });
    assert.equal(await pub.publish('/tasks/oom', { containerId: 'one' }), true);
    // the second call closes the server: the publisher keeps retrying until a new one listens
    const two = pub.publish('/tasks/oom', { containerId: 'two' });
    while (fs.existsSync(sock)) await new Promise((r) => setImmediate(r));
    const second = await eventsServer(sock);
    assert.equal(await two, true);
    assert.deepEqual(
      first.got.map((g) => g.containerId),
      ['one'],
    );
    assert.deepEqual(
      second.got.map((g) => g.containerId),
      ['two'],
    );
    await pub.close();
    await second.server.close();
  });

  it('limits each call by its timeout and tries again', async () => {
    const sock = sockPath();
    const { server, got } = await eventsServer(sock, (call) => (call === 1 ? 'hang' : 'ok'));
    const pub = new EventPublisher({ address: sock, namespace: 'ns', backoffMs: 1, callTimeoutMs: 20 });
    assert.equal(await pub.publish('/tasks/oom', { containerId: 'x' }), true);
    assert.deepEqual(
      got.map((g) => g.containerId),
      ['x'],
    );
    await pub.close();
    await server.close();
  });

  it('refuses events after close', async () => {
    const pub = new EventPublisher({ address: path.join(dir, 'nothing'), namespace: 'ns' });
    await pub.close();
    assert.equal(await pub.publish('/tasks/oom', { containerId: 'late' }), false);
  });
});
