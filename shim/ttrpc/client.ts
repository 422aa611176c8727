/**
 * A ttrpc client on a unix socket: odd stream ids from 1, several calls in flight on
 * one connection, answers matched by stream id in whatever order they come.
 *
 * Example:
 *   const client = await TtrpcClient.connect('/run/containerd/containerd.sock.ttrpc');
 *   await client.call('containerd.services.events.ttrpc.v1.Events', 'Forward',
 *     ForwardRequest, Empty, { envelope }, { timeoutMs: 5000 });
 *   client.close();
 */
import * as net from 'node:net';

import Long = require('long');

import { ttrpc } from '../../proto/gen/ttrpc';
import { FrameReader, MESSAGE_LENGTH_MAX, MessageType, writeFrame, type Frame, type FrameHeader } from './frame';
import { metadataOf, metadataToPairs, type Metadata } from './metadata';
import type { MessageCodec } from './service';
import { closedError, Code, deadlineError, oversizedError, TtrpcError } from './status';

export interface CallOptions {
  /** fails the call with DeadlineExceeded after this long; also sent to the server */
  timeoutMs?: number;
  metadata?: Metadata | Record<string, string | string[]>;
}

export interface ConnectOptions {
  /** gives up connecting after this long (default 10 s) */
  timeoutMs?: number;
}

interface Pending {
  resolve(payload: Buffer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
}

const STREAM_ID_MAX = 0xffffffff;

export class TtrpcClient {
  private readonly reader: FrameReader;
  private readonly pending = new Map<number, Pending>();
  private readonly closeListeners: ((err: Error | undefined) => void)[] = [];
  private nextStreamId = 1;
  private closedWith: TtrpcError | undefined;

  /** Connects to a unix socket path (an address's `unix://` prefix is accepted). */
  static connect(path: string, options: ConnectOptions = {}): Promise<TtrpcClient> {
    const target = path.startsWith('unix://') ? path.slice('unix://'.length) : path;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection({ path: target });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new TtrpcError(Code.DeadlineExceeded, `ttrpc: dial ${target}: timed out`));
      }, options.timeoutMs ?? 10_000);
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new TtrpcClient(socket));
      });
    });
  }

  constructor(private readonly socket: net.Socket) {
    this.reader = new FrameReader({ frame: (f) => this.onFrame(f), oversized: (h) => this.onOversized(h) });
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(undefined));
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Runs once when the connection ends (with the socket error, if there was one). */
  onClose(listener: (err: Error | undefined) => void): void {
    if (this.closedWith) listener(undefined);
    else this.closeListeners.push(listener);
  }

  /** Lets the process exit while the connection is open and idle. */
  unref(): void {
    this.socket.unref();
  }

  /** Calls `service`/`method` with a message of the generated request type. */
  async call<Req, Res>(
    service: string,
    method: string,
    requestType: MessageCodec<unknown, Req>,
    responseType: MessageCodec<Res, unknown>,
    request: Req,
    options: CallOptions = {},
  ): Promise<Res> {
    const payload = await this.callRaw(service, method, requestType.encode(request).finish(), options);
    try {
      return responseType.decode(payload);
    } catch (e) {
      throw new TtrpcError(Code.Internal, `${service}/${method}: cannot decode response: ${(e as Error).message}`);
    }
  }

  /** Calls with an already serialized request; resolves to the serialized response. */
  callRaw(service: string, method: string, payload: Uint8Array, options: CallOptions = {}): Promise<Buffer> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    const streamId = this.nextStreamId;
    if (streamId > STREAM_ID_MAX) return Promise.reject(new TtrpcError(Code.ResourceExhausted, 'ttrpc: stream ids exhausted on this connection'));
    this.nextStreamId += 2;
    const metadata = options.metadata instanceof Map ? options.metadata : metadataOf(options.metadata ?? {});
    const timeoutNano = options.timeoutMs !== undefined && options.timeoutMs > 0 ? Long.fromNumber(Math.round(options.timeoutMs * 1e6)) : undefined;
    const data = ttrpc.Request.encode({
      service,
      method,
      payload: payload.length ? payload : undefined,
      timeoutNano,
      metadata: metadataToPairs(metadata),
    }).finish();
    if (data.length > MESSAGE_LENGTH_MAX) return Promise.reject(oversizedError(data.length, MESSAGE_LENGTH_MAX));
    return new Promise((resolve, reject) => {
      const timer =
        options.timeoutMs !== undefined && options.timeoutMs > 0
          ? setTimeout(() => {
              // No cancel frame exists: abandon the stream; a late answer is dropped.
              this.pending.delete(streamId);
              reject(deadlineError());
            }, options.timeoutMs)
          : undefined;
      this.pending.set(streamId, { resolve, reject, timer });
      writeFrame(this.socket, streamId, MessageType.Request, data);
    });
  }

  /** Closes the connection; calls in flight fail with "ttrpc: closed". */
  close(): void {
    this.socket.destroy();
    this.fail(undefined);
  }

  private settle(streamId: number): Pending | undefined {
    const p = this.pending.get(streamId);
    if (!p) return undefined;
    this.pending.delete(streamId);
    if (p.timer) clearTimeout(p.timer);
    return p;
  }

  private onFrame(frame: Frame): void {
    if (frame.type !== MessageType.Response) {
      this.settle(frame.streamId)?.reject(new TtrpcError(Code.Internal, `ttrpc: unknown message type ${frame.type} received`));
      return;
    }
    const p = this.settle(frame.streamId);
    if (!p) return; // abandoned (timed out) or never ours: dropped, as the Go client does
    let response: ttrpc.Response;
    try {
      response = ttrpc.Response.decode(frame.data);
    } catch (e) {
      p.reject(new TtrpcError(Code.Internal, `ttrpc: invalid response: ${(e as Error).message}`));
      return;
    }
    const code = response.status?.code ?? 0;
    if (code !== 0) {
      const details = (response.status?.details ?? []).map((d) => ({ typeUrl: d.type_url ?? '', value: d.value ?? new Uint8Array(0) }));
      p.reject(new TtrpcError(code, response.status?.message ?? '', details));
      return;
    }
    const payload = response.payload ?? new Uint8Array(0);
    p.resolve(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
  }

  private onOversized(header: FrameHeader): void {
    this.settle(header.streamId)?.reject(oversizedError(header.length, MESSAGE_LENGTH_MAX));
  }

  private fail(err: Error | undefined): void {
    if (this.closedWith) return;
    this.closedWith = closedError();
    this.socket.destroy();
    for (const [id, p] of this.pending) {
      this.pending.delete(id);
      if (p.timer) clearTimeout(p.timer);
      p.reject(this.closedWith);
    }
    for (const l of this.closeListeners.splice(0)) l(err);
  }
}
