/**
 * The proxy snapshotter's gRPC surface with a plain grpc-js client: the error codes
 * containerd branches on, List as a stream in batches, Update masks, Usage, Cleanup,
 * and the namespace metadata containerd sends.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { serveSnapshotter, snapshotsService, type ProxyServer } from '../../plugins/snapshotter/proxy/server';
import { openSnapshotter } from '../../plugins/snapshotter/registry';
import { tempDir } from '../fixtures/env';

type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

describe('proxy snapshotter over gRPC', () => {
  let dir: string;
  let server: ProxyServer;
  let client: Client;
  const md = new grpc.Metadata();
  md.set('containerd-namespace', 'default');

  const call = <T>(method: string, req: Record<string, unknown>): Promise<T> =>
    new Promise((resolve, reject) => (client[method] as (r: unknown, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, res: T) => void) => void)(req, md, (e, res) => (e ? reject(e) : resolve(res))));
  const code = async (p: Promise<unknown>, want: grpc.status, re?: RegExp): Promise<void> => {
    await assert.rejects(p, (e: grpc.ServiceError) => {
      assert.equal(e.code, want, e.message);
      if (re) assert.match(e.details, re);
      return true;
    });
  };
  const list = (filters: string[]): Promise<{ batches: number; names: string[] }> =>
    new Promise((resolve, reject) => {
      const stream = (client.List as (r: unknown, m: grpc.Metadata) => grpc.ClientReadableStream<{ info: { name: string }[] }>)({ filters }, md);
      let batches = 0;
      const names: string[] = [];
      stream.on('data', (res) => {
        batches++;
        names.push(...res.info.map((i: { name: string }) => i.name));
      });
      stream.on('error', reject);
      stream.on('end', () => resolve({ batches, names: names.sort() }));
    });

  before(async () => {
    dir = tempDir('snap-proxy');
    server = await serveSnapshotter({ address: path.join(dir, 's.sock'), snapshotter: openSnapshotter('native', path.join(dir, 'state')) });
    const Ctor = grpc.makeGenericClientConstructor(snapshotsService as unknown as grpc.ServiceDefinition, 'Snapshots');
    client = new Ctor(`unix://${server.address}`, grpc.credentials.createInsecure()) as unknown as Client;
  });

  after(async () => {
    client.close();
    await server.close();
  });

  it('maps errors to the codes containerd branches on', async () => {
    const prep = await call<{ mounts: { type: string; source: string; options: string[] }[] }>('Prepare', { key: 'default/1/a', parent: '' });
    assert.equal(prep.mounts[0].type, 'bind');
    assert.deepEqual(prep.mounts[0].options, ['rw', 'rbind']);
    await code(call('Prepare', { key: 'default/1/a', parent: '' }), grpc.status.ALREADY_EXISTS);
    await code(call('Prepare', { key: 'default/2/b', parent: 'nope' }), grpc.status.NOT_FOUND, /parent snapshot "nope"/);
    await code(call('Stat', { key: 'nope' }), grpc.status.NOT_FOUND);
    await call('Commit', { name: 'default/3/c', key: 'default/1/a', labels: { 'containerd.io/snapshot/x': '1' } });
    await code(call('Commit', { name: 'default/3/c', key: 'default/3/c' }), grpc.status.FAILED_PRECONDITION);
    await call('View', { key: 'default/4/v', parent: 'default/3/c' });
    await code(call('Remove', { key: 'default/3/c' }), grpc.status.FAILED_PRECONDITION, /child/);
    await code(call('Update', { info: { name: 'default/3/c' }, updateMask: { paths: ['kind'] } }), grpc.status.INVALID_ARGUMENT);
    const stat = await call<{ info: { name: string; kind: number; parent: string; labels: Record<string, string>; createdAt: { seconds: { toNumber(): number } } } }>('Stat', { key: 'default/4/v' });
    assert.equal(stat.info.kind, 1); // VIEW
    assert.equal(stat.info.parent, 'default/3/c');
    assert.ok(Math.abs(stat.info.createdAt.seconds.toNumber() - Date.now() / 1000) < 3600);
    const upd = await call<{ info: { labels: Record<string, string> } }>('Update', {
      info: { name: 'default/3/c', labels: { 'containerd.io/snapshot/y': '2' } },
      updateMask: { paths: ['labels.containerd.io/snapshot/y'] },
    });
    assert.deepEqual(upd.info.labels, { 'containerd.io/snapshot/x': '1', 'containerd.io/snapshot/y': '2' });
    const usage = await call<{ size: { toNumber(): number }; inodes: { toNumber(): number } }>('Usage', { key: 'default/3/c' });
    assert.equal(usage.inodes.toNumber(), 1);
    await call('Cleanup', {});
    await call('Remove', { key: 'default/4/v' });
    await call('Remove', { key: 'default/3/c' });
  });

  it('streams List in batches and applies filters', async () => {
    for (let i = 0; i < 250; i++) await call('Prepare', { key: `ns/${i}/k${i}`, parent: '', labels: i % 2 ? { 'containerd.io/snapshot/odd': 'yes' } : {} });
    const all = await list([]);
    assert.equal(all.names.length, 250);
    assert.equal(all.batches, 3, 'batches of 100');
    const odd = await list(['labels."containerd.io/snapshot/odd"==yes']);
    assert.equal(odd.names.length, 125);
    const two = await list(['name==ns/7/k7', 'name==ns/8/k8']);
    assert.deepEqual(two.names, ['ns/7/k7', 'ns/8/k8']);
    await code(list(['name==']).then(() => list(['"unterminated'])), grpc.status.INVALID_ARGUMENT);
    for (let i = 0; i < 250; i++) await call('Remove', { key: `ns/${i}/k${i}` });
  });
});
