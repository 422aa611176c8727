/**
 * Our .proto renderings against bytes worked out by hand from the protobuf encoding
 * rules (tag = field << 3 | wire type; varints little-endian in 7-bit groups; negative
 * int64 as ten bytes), so a wrong field number or type shows up here and not as a
 * silent misreading in containerd.
 */
import assert = require('node:assert/strict');
import { describe, it } from 'node:test';

import Long = require('long');

import { io } from '../../proto/gen/cgroups';
import { containerd as ev } from '../../proto/gen/events';
import { containerd, google } from '../../proto/gen/task';
import { ttrpc } from '../../proto/gen/ttrpc';

const v2 = containerd.task.v2;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex').replace(/(..)(?!$)/g, '$1 ');
const bytes = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

/** Go's zero time.Time as a Timestamp: what containerd sends for an unset non-nullable time. */
const GO_ZERO_SECONDS = Long.fromString('-62135596800');

describe('proto encodings', () => {
  it('DeleteResponse: uint32 varints and a Timestamp sub-message', () => {
    const msg = { pid: 42, exitStatus: 137, exitedAt: { seconds: Long.fromNumber(1_700_000_000), nanos: 5 } };
    const expected =
      '08 2a' + // 1 pid = 42
      ' 10 89 01' + // 2 exit_status = 137
      ' 1a 08 08 80 e2 cf aa 06 10 05'; // 3 exited_at { 1 seconds = 1700000000, 2 nanos = 5 }
    assert.equal(hex(v2.DeleteResponse.encode(msg).finish()), expected);
    const back = v2.DeleteResponse.decode(bytes(expected));
    assert.equal(back.pid, 42);
    assert.equal(back.exitStatus, 137);
    assert.equal(back.exitedAt?.seconds?.toString(), '1700000000');
    assert.equal(back.exitedAt?.nanos, 5);
  });

  it('a non-nullable Timestamp is written even when it is the epoch, and Go’s zero time round-trips', () => {
    // containerd always encodes exited_at; the epoch is an empty sub-message, not an absent field
    assert.equal(hex(v2.WaitResponse.encode({ exitedAt: {} }).finish()), '12 00');
    const zero = '12 0b 08 80 92 b8 c3 98 fe ff ff ff 01'; // 2 exited_at { 1 seconds = -62135596800 }
    assert.equal(hex(v2.WaitResponse.encode({ exitedAt: { seconds: GO_ZERO_SECONDS } }).finish()), zero);
    assert.equal(v2.WaitResponse.decode(bytes(zero)).exitedAt?.seconds?.toString(), '-62135596800');
  });

  it('map<string,string> as repeated entries with key 1 and value 2', () => {
    const expected =
      '0a 01 63' + // 1 id = "c"
      ' 1a 06 0a 01 61 12 01 62'; // 3 annotations entry { 1 key = "a", 2 value = "b" }
    assert.equal(hex(v2.UpdateTaskRequest.encode({ id: 'c', annotations: { a: 'b' } }).finish()), expected);
    assert.deepEqual({ ...v2.UpdateTaskRequest.decode(bytes(expected)).annotations }, { a: 'b' });
  });

  it('Any with a bare type URL around cgroup v2 Metrics', () => {
    const metrics = io.containerd.cgroups.v2.Metrics.encode({ pids: { current: Long.fromNumber(3, true) } }).finish();
    assert.equal(hex(metrics), '0a 02 08 03'); // 1 pids { 1 current = 3 }
    const typeUrl = 'io.containerd.cgroups.v2.Metrics';
    const expected = `0a 28 0a 20 ${Buffer.from(typeUrl).toString('hex').replace(/(..)(?!$)/g, '$1 ')} 12 04 0a 02 08 03`;
    assert.equal(hex(v2.StatsResponse.encode({ stats: { type_url: typeUrl, value: metrics } }).finish()), expected);
    const back = v2.StatsResponse.decode(bytes(expected));
    assert.equal(back.stats?.type_url, typeUrl);
    const m = io.containerd.cgroups.v2.Metrics.decode(back.stats?.value ?? new Uint8Array());
    assert.equal(m.pids?.current?.toString(), '3');
  });

  it('cgroup v2 Metrics leaves field 3 unused: memory is field 4', () => {
    const encoded = io.containerd.cgroups.v2.Metrics.encode({ memory: { usage: Long.fromNumber(1, true) } }).finish();
    assert.equal(hex(encoded), '22 03 80 02 01'); // 4 memory { 32 usage = 1 }  (tag 32<<3 = 256 = 80 02)
  });

  it('cgroup v1 Metrics: memory usage is a MemoryEntry at field 33', () => {
    const encoded = io.containerd.cgroups.v1.Metrics.encode({ memory: { usage: { usage: Long.fromNumber(7, true) } } }).finish();
    assert.equal(hex(encoded), '22 05 8a 02 02 10 07'); // 4 memory { 33 usage { 2 usage = 7 } }
  });

  it('enum fields as varints: StateResponse status RUNNING = 2', () => {
    assert.equal(hex(v2.StateResponse.encode({ status: containerd.v1.types.Status.RUNNING }).finish()), '20 02');
  });

  it('the ttrpc Request envelope: int64 timeout and repeated metadata', () => {
    const expected =
      '0a 01 73' + // 1 service = "s"
      ' 12 01 6d' + // 2 method = "m"
      ' 1a 01 ff' + // 3 payload = ff
      ' 20 80 e4 97 d0 12' + // 4 timeout_nano = 5_000_000_000
      ' 2a 06 0a 01 6b 12 01 76'; // 5 metadata { 1 key = "k", 2 value = "v" }
    const req = { service: 's', method: 'm', payload: bytes('ff'), timeoutNano: Long.fromNumber(5e9), metadata: [{ key: 'k', value: 'v' }] };
    assert.equal(hex(ttrpc.Request.encode(req).finish()), expected);
    assert.equal(ttrpc.Request.decode(bytes(expected)).timeoutNano.toString(), '5000000000');
  });

  it('the ttrpc Response as Go writes it: an empty status sub-message means OK', () => {
    const r = ttrpc.Response.decode(bytes('0a 00 12 02 08 01'));
    assert.equal(r.status?.code ?? 0, 0);
    assert.equal(hex(r.payload), '08 01');
    const failed = ttrpc.Response.decode(bytes('0a 0b 08 0c 12 07 6d 65 74 68 6f 64 20'));
    assert.equal(failed.status?.code, 12);
    assert.equal(failed.status?.message, 'method ');
  });

  it('Empty encodes to nothing', () => {
    assert.equal(google.protobuf.Empty.encode({}).finish().length, 0);
  });

  it('an events Envelope carries the namespace and the event as an Any', () => {
    const oom = ev.events.TaskOOM.encode({ containerId: 'c1' }).finish();
    assert.equal(hex(oom), '0a 02 63 31');
    const env = ev.services.events.ttrpc.v1.ForwardRequest.encode({
      envelope: { timestamp: { seconds: Long.fromNumber(1) }, namespace: 'ns', topic: '/tasks/oom', event: { type_url: 'containerd.events.TaskOOM', value: oom } },
    }).finish();
    const back = ev.services.events.ttrpc.v1.ForwardRequest.decode(env);
    assert.equal(back.envelope?.namespace, 'ns');
    assert.equal(back.envelope?.topic, '/tasks/oom');
    assert.equal(back.envelope?.event?.type_url, 'containerd.events.TaskOOM');
    assert.equal(ev.events.TaskOOM.decode(back.envelope?.event?.value ?? new Uint8Array()).containerId, 'c1');
    // envelope field numbers: 1 timestamp, 2 namespace, 3 topic, 4 event
    assert.equal(hex(env).slice(0, 2), '0a');
    assert.match(hex(env), /^0a .. 0a 02 08 01 12 02 6e 73 1a 0a /);
  });

  it('TaskExit numbers its fields 1 container_id … 5 exited_at', () => {
    const encoded = ev.events.TaskExit.encode({ containerId: 'a', id: 'b', pid: 1, exitStatus: 2, exitedAt: { nanos: 3 } }).finish();
    assert.equal(hex(encoded), '0a 01 61 12 01 62 18 01 20 02 2a 02 10 03');
  });

  it('skips fields it does not know', () => {
    // 1 id = "x", then an unknown field 9 (varint 1) and an unknown field 10 (bytes "zz")
    const r = v2.ConnectRequest.decode(bytes('0a 01 78 48 01 52 02 7a 7a'));
    assert.equal(r.id, 'x');
  });
});
