/**
 * containerd's proxy snapshotter: `containerd.services.snapshots.v1.Snapshots` over
 * gRPC on a unix socket, serving one of our snapshotters. containerd dials it from a
 * `[proxy_plugins.<name>]` entry (type "snapshot", address = the socket path).
 * Keys arrive already namespaced by containerd (`<ns>/<n>/<key>`), so the
 * `containerd-namespace` metadata is only checked for presence in the logs; errors map
 * to the codes containerd branches on (NotFound, AlreadyExists, FailedPrecondition,
 * InvalidArgument). List streams its answer in batches.
 *
 * Example:
 *   const server = await serveSnapshotter({ address: '/run/hutch/snap.sock', snapshotter: openSnapshotter('overlayfs') });
 *   ...
 *   await server.close();
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as grpcTypes from '@grpc/grpc-js';
import Long = require('long');
import { HutchError, type ErrorKind } from '../../../runtime/errors';
import { containerd, google } from '../../../proto/gen/snapshots';
import { toTimestamp } from '../../../shim/timestamp';
import type { Mount, SnapshotInfo, Snapshotter } from '../snapshotter';

const v1 = containerd.services.snapshots.v1;
const SERVICE = 'containerd.services.snapshots.v1.Snapshots';
const LIST_BATCH = 100;

/** Encoder/decoder pair of a generated message class. */
interface MessageType<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(buf: Uint8Array): T;
  fromObject(obj: Record<string, unknown>): T;
}

function method<Req, Res>(name: string, req: MessageType<Req>, res: MessageType<Res>, responseStream = false): grpcTypes.MethodDefinition<Req, Res> {
  return {
    path: `/${SERVICE}/${name}`,
    requestStream: false,
    responseStream,
    requestSerialize: (m: Req) => Buffer.from(req.encode(m).finish()),
    requestDeserialize: (b: Buffer) => req.decode(b),
    responseSerialize: (m: Res) => Buffer.from(res.encode(m).finish()),
    responseDeserialize: (b: Buffer) => res.decode(b),
  };
}

// The generated classes carry their static codec; `as unknown as` bridges protobufjs's
// overloaded static signatures to the small MessageType shape used here.
const m = <T>(cls: unknown): MessageType<T> => cls as MessageType<T>;
type Pb = typeof v1;

export const snapshotsService = {
  Prepare: method('Prepare', m<InstanceType<Pb['PrepareSnapshotRequest']>>(v1.PrepareSnapshotRequest), m<InstanceType<Pb['PrepareSnapshotResponse']>>(v1.PrepareSnapshotResponse)),
  View: method('View', m<InstanceType<Pb['ViewSnapshotRequest']>>(v1.ViewSnapshotRequest), m<InstanceType<Pb['ViewSnapshotResponse']>>(v1.ViewSnapshotResponse)),
  Mounts: method('Mounts', m<InstanceType<Pb['MountsRequest']>>(v1.MountsRequest), m<InstanceType<Pb['MountsResponse']>>(v1.MountsResponse)),
  Commit: method('Commit', m<InstanceType<Pb['CommitSnapshotRequest']>>(v1.CommitSnapshotRequest), m<google.protobuf.Empty>(google.protobuf.Empty)),
  Remove: method('Remove', m<InstanceType<Pb['RemoveSnapshotRequest']>>(v1.RemoveSnapshotRequest), m<google.protobuf.Empty>(google.protobuf.Empty)),
  Stat: method('Stat', m<InstanceType<Pb['StatSnapshotRequest']>>(v1.StatSnapshotRequest), m<InstanceType<Pb['StatSnapshotResponse']>>(v1.StatSnapshotResponse)),
  Update: method('Update', m<InstanceType<Pb['UpdateSnapshotRequest']>>(v1.UpdateSnapshotRequest), m<InstanceType<Pb['UpdateSnapshotResponse']>>(v1.UpdateSnapshotResponse)),
  List: method('List', m<InstanceType<Pb['ListSnapshotsRequest']>>(v1.ListSnapshotsRequest), m<InstanceType<Pb['ListSnapshotsResponse']>>(v1.ListSnapshotsResponse), true),
  Usage: method('Usage', m<InstanceType<Pb['UsageRequest']>>(v1.UsageRequest), m<InstanceType<Pb['UsageResponse']>>(v1.UsageResponse)),
  Cleanup: method('Cleanup', m<InstanceType<Pb['CleanupRequest']>>(v1.CleanupRequest), m<google.protobuf.Empty>(google.protobuf.Empty)),
};

const CODES: Partial<Record<ErrorKind, number>> = {
  'invalid-argument': 3,
  'not-found': 5,
  'already-exists': 6,
  'permission-denied': 7,
  'failed-precondition': 9,
  unimplemented: 12,
  unavailable: 14,
};

function toStatus(e: unknown): grpcTypes.ServiceError {
  const err = e instanceof Error ? e : new Error(String(e));
  const code = e instanceof HutchError ? (CODES[e.kind] ?? 13) : 2;
  return Object.assign(new Error(err.message), { code, details: err.message, metadata: undefined as unknown as grpcTypes.Metadata }) as grpcTypes.ServiceError;
}

const KIND = { view: v1.Kind.VIEW, active: v1.Kind.ACTIVE, committed: v1.Kind.COMMITTED } as const;

function infoPb(i: SnapshotInfo): containerd.services.snapshots.v1.Info.$Properties {
  return { name: i.name, parent: i.parent, kind: KIND[i.kind], createdAt: toTimestamp(i.created), updatedAt: toTimestamp(i.updated), labels: i.labels };
}

function mountsPb(ms: Mount[]): containerd.types.Mount.$Properties[] {
  return ms.map((x) => ({ type: x.type, source: x.source, target: x.target ?? '', options: x.options }));
}

export interface ProxyServer {
  address: string;
  close(): Promise<void>;
}

export interface ServeOptions {
  address: string;
  snapshotter: Snapshotter;
  /** one line per request (debug) */
  log?: (msg: string) => void;
}

export async function serveSnapshotter(options: ServeOptions): Promise<ProxyServer> {
  // grpc-js is heavy: loaded only by the process that serves
  const grpc = await import('@grpc/grpc-js');
  const sn = options.snapshotter;
  const log = options.log ?? (() => undefined);
  type Call<Req> = { request: Req; metadata: grpcTypes.Metadata };
  const unary =
    <Req, Res>(name: string, fn: (req: Req) => Promise<Res>) =>
    (call: Call<Req>, cb: (err: grpcTypes.ServiceError | null, res?: Res) => void): void => {
      const ns = call.metadata.get('containerd-namespace')[0] ?? '';
      fn(call.request).then(
        (res) => {
          log(`${name} ns=${ns} ok`);
          cb(null, res);
        },
        (e: unknown) => {
          log(`${name} ns=${ns}: ${(e as Error).message}`);
          cb(toStatus(e));
        },
      );
    };
  const empty = {} as google.protobuf.Empty;
  const labelsOf = (l: Record<string, string> | null | undefined): Record<string, string> => ({ ...(l ?? {}) });
  const handlers = {
    Prepare: unary('Prepare', async (r: containerd.services.snapshots.v1.PrepareSnapshotRequest) =>
      v1.PrepareSnapshotResponse.fromObject({ mounts: mountsPb(await sn.prepare(r.key, r.parent, { labels: labelsOf(r.labels) })) }),
    ),
    View: unary('View', async (r: containerd.services.snapshots.v1.ViewSnapshotRequest) =>
      v1.ViewSnapshotResponse.fromObject({ mounts: mountsPb(await sn.view(r.key, r.parent, { labels: labelsOf(r.labels) })) }),
    ),
    Mounts: unary('Mounts', async (r: containerd.services.snapshots.v1.MountsRequest) => v1.MountsResponse.fromObject({ mounts: mountsPb(await sn.mounts(r.key)) })),
    Commit: unary('Commit', async (r: containerd.services.snapshots.v1.CommitSnapshotRequest) => {
      await sn.commit(r.name, r.key, { labels: labelsOf(r.labels) });
      return empty;
    }),
    Remove: unary('Remove', async (r: containerd.services.snapshots.v1.RemoveSnapshotRequest) => {
      await sn.remove(r.key);
      return empty;
    }),
    Stat: unary('Stat', async (r: containerd.services.snapshots.v1.StatSnapshotRequest) => v1.StatSnapshotResponse.fromObject({ info: infoPb(await sn.stat(r.key)) })),
    Update: unary('Update', async (r: containerd.services.snapshots.v1.UpdateSnapshotRequest) => {
      if (!r.info) throw new HutchError('update', 'info is required', { kind: 'invalid-argument', field: 'info' });
      const info = await sn.update({ name: r.info.name ?? '', labels: labelsOf(r.info.labels) }, r.updateMask?.paths ?? []);
      return v1.UpdateSnapshotResponse.fromObject({ info: infoPb(info) });
    }),
    Usage: unary('Usage', async (r: containerd.services.snapshots.v1.UsageRequest) => {
      const u = await sn.usage(r.key);
      return v1.UsageResponse.fromObject({ size: Long.fromNumber(u.size), inodes: Long.fromNumber(u.inodes) });
    }),
    Cleanup: unary('Cleanup', async () => {
      await sn.cleanup();
      return empty;
    }),
    List: (call: grpcTypes.ServerWritableStream<containerd.services.snapshots.v1.ListSnapshotsRequest, containerd.services.snapshots.v1.ListSnapshotsResponse>): void => {
      let batch: containerd.services.snapshots.v1.Info.$Properties[] = [];
      const flush = (): void => {
        if (batch.length) call.write(v1.ListSnapshotsResponse.fromObject({ info: batch }));
        batch = [];
      };
      sn.walk((i) => {
        batch.push(infoPb(i));
        if (batch.length >= LIST_BATCH) flush();
      }, ...(call.request.filters ?? [])).then(
        () => {
          flush();
          log(`List filters=${JSON.stringify(call.request.filters)} ok`);
          call.end();
        },
        (e: unknown) => {
          log(`List: ${(e as Error).message}`);
          call.emit('error', toStatus(e)); // grpc-js ends a server stream with this status
        },
      );
    },
  };
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 << 20, 'grpc.max_send_message_length': 16 << 20 });
  server.addService(snapshotsService as unknown as grpcTypes.ServiceDefinition, handlers as unknown as grpcTypes.UntypedServiceImplementation);
  const address = path.resolve(options.address);
  fs.mkdirSync(path.dirname(address), { recursive: true });
  try {
    if (fs.lstatSync(address).isSocket()) fs.unlinkSync(address); // a stale socket from a previous run
  } catch {
    /* absent */
  }
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix://${address}`, grpc.ServerCredentials.createInsecure(), (e) =>
      e ? reject(new HutchError('snapshotter serve', `listen on ${address}: ${e.message}`, { kind: 'unavailable', path: address, cause: e })) : resolve(),
    ),
  );
  return {
    address,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          fs.rmSync(address, { force: true });
          resolve();
        });
      }),
  };
}
