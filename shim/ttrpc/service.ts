/**
 * How a ttrpc service is described to the server: its fully qualified name and, per
 * method, the generated protobufjs request/response types and a handler.
 *
 * Example:
 *   import { containerd } from '../../proto/gen/task';
 *   const v2 = containerd.task.v2;
 *   server.register({
 *     serviceName: 'containerd.task.v2.Task',
 *     methods: {
 *       Connect: defineMethod(v2.ConnectRequest, v2.ConnectResponse, (req, ctx) => ({ shimPid: process.pid })),
 *     },
 *   });
 */
import type { Reader, Writer } from 'protobufjs';

import type { Metadata } from './metadata';

/** The static side of a generated protobufjs message class. */
export interface MessageCodec<Decoded, Encodable> {
  encode(message: Encodable, writer?: Writer): Writer;
  decode(reader: Reader | Uint8Array, length?: number): Decoded;
}

export interface PeerInfo {
  pid: number;
  uid: number;
  gid: number;
}

export interface CallContext {
  service: string;
  method: string;
  streamId: number;
  /** request headers, keys lower-case */
  metadata: Metadata;
  /** the containerd namespace from the `containerd-namespace-ttrpc` header, if sent */
  namespace: string | undefined;
  /** absolute deadline (ms since the epoch) from the request's timeout, if any */
  deadline: number | undefined;
  /** aborted at the deadline, or when the caller's connection closes */
  signal: AbortSignal;
  /** the calling process (SO_PEERCRED), when the server checked it */
  peer: PeerInfo | undefined;
  /** runs `fn` once this call's response has been handed to the kernel (or cannot be: the peer is gone) */
  onResponded(fn: () => void): void;
}

export interface MethodDefinition<Req, Res> {
  requestType: MessageCodec<Req, unknown>;
  responseType: MessageCodec<unknown, Res>;
  handler(request: Req, ctx: CallContext): Res | Promise<Res>;
}

// `any`: one service's methods have unrelated request and response types;
// defineMethod checks each method's handler against its own types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyMethodDefinition = MethodDefinition<any, any>;

export interface ServiceDefinition {
  /** fully qualified proto service name, e.g. "containerd.task.v2.Task" */
  serviceName: string;
  /** by bare method name, e.g. "Create" */
  methods: Record<string, AnyMethodDefinition>;
}

/** A method entry whose handler is type-checked against the generated types. */
export function defineMethod<Req, Res>(
  requestType: MessageCodec<Req, unknown>,
  responseType: MessageCodec<unknown, Res>,
  handler: (request: Req, ctx: CallContext) => Res | Promise<Res>,
): MethodDefinition<Req, Res> {
  return { requestType, responseType, handler };
}
