/**
 * A ttrpc server on a unix socket, speaking what containerd 1.6 (ttrpc 1.1) speaks:
 * unary calls, each request run concurrently and answered in completion order on its
 * own stream id, so a long Wait never holds up other calls.
 *
 * Example:
 *   const server = new TtrpcServer({ logger });
 *   server.register(taskService);
 *   await server.listen('/run/containerd/s/…');   // socket mode 0600
 *   …
 *   await server.shutdown();
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

import { native } from '../../addon';
import { google, ttrpc } from '../../proto/gen/ttrpc';
import { FrameReader, MESSAGE_LENGTH_MAX, MessageType, writeFrame, type Frame, type FrameHeader } from './frame';
import { metadataFromPairs, metadataValue, NAMESPACE_KEY } from './metadata';
import type { AnyMethodDefinition, CallContext, PeerInfo, ServiceDefinition } from './service';
import { Code, oversizedError, statusOfError, type StatusDetail } from './status';

export interface ServerLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ServerOptions {
  /**
   * Admit only peers whose uid and gid equal ours (SO_PEERCRED), as containerd's shim
   * library does. Default true.
   */
  requireSameUser?: boolean;
  logger?: ServerLogger;
}

interface Status {
  code: Code;
  message: string;
  details: StatusDetail[];
}

const silent: ServerLogger = { debug: () => undefined, warn: () => undefined };

/** Node keeps a connected socket's fd on its internal handle; SO_PEERCRED needs it. */
function socketFd(socket: net.Socket): number | undefined {
  const handle = (socket as unknown as { _handle?: { fd?: number } })._handle;
  return typeof handle?.fd === 'number' && handle.fd >= 0 ? handle.fd : undefined;
}

class Connection {
  private readonly reader: FrameReader;
  private readonly inFlight = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly server: TtrpcServer,
    readonly socket: net.Socket,
    private readonly peer: PeerInfo | undefined,
    private readonly logger: ServerLogger,
  ) {
    this.reader = new FrameReader({ frame: (f) => this.onFrame(f), oversized: (h) => this.onOversized(h) });
    socket.on('data', (chunk: Buffer) => this.reader.push(chunk));
    socket.on('error', (err) => this.logger.debug({ err: err.message }, 'ttrpc connection error'));
    socket.on('close', () => this.onClose());
  }

  get busy(): number {
    return this.inFlight.size;
  }

  private onClose(): void {
    this.closed = true;
    for (const c of this.inFlight) c.abort(new DOMException('ttrpc: connection closed', 'AbortError'));
    this.server.forget(this);
  }

  private onOversized(header: FrameHeader): void {
    const err = oversizedError(header.length, MESSAGE_LENGTH_MAX);
    this.logger.warn({ streamId: header.streamId, length: header.length }, 'ttrpc: oversized request discarded');
    if (header.type === MessageType.Request) this.send(header.streamId, { code: err.code, message: err.message, details: [] }, undefined);
  }

  private onFrame(frame: Frame): void {
    // A 1.1 server ignores what is not a request (e.g. 1.2 streaming data frames).
    if (frame.type !== MessageType.Request) return;
    if (frame.streamId % 2 !== 1) {
      this.send(frame.streamId, { code: Code.InvalidArgument, message: 'StreamID must be odd for client initiated streams', details: [] }, undefined);
      return;
    }
    let request: ttrpc.Request;
    try {
      request = ttrpc.Request.decode(frame.data);
    } catch (e) {
      this.send(frame.streamId, { code: Code.InvalidArgument, message: `invalid request: ${(e as Error).message}`, details: [] }, undefined);
      return;
    }
    void this.dispatch(frame.streamId, request);
  }

  private async dispatch(streamId: number, request: ttrpc.Request): Promise<void> {
    const service = this.server.service(request.service);
    if (!service) {
      this.logger.debug({ service: request.service, method: request.method, streamId }, 'ttrpc call to an unknown service');
      this.send(streamId, { code: Code.Unimplemented, message: `service ${request.service}`, details: [] }, undefined);
      return;
    }
    const method: AnyMethodDefinition | undefined = Object.prototype.hasOwnProperty.call(service.methods, request.method)
      ? service.methods[request.method]
      : undefined;
    if (!method) {
      this.send(streamId, { code: Code.Unimplemented, message: `method ${request.method}`, details: [] }, undefined);
      return;
    }
    let decoded: unknown;
    try {
      decoded = method.requestType.decode(request.payload ?? new Uint8Array(0));
    } catch (e) {
      this.send(streamId, { code: Code.Internal, message: `${request.service}/${request.method}: cannot decode request: ${(e as Error).message}`, details: [] }, undefined);
      return;
    }
    const controller = new AbortController();
    this.inFlight.add(controller);
    const timeoutNs = Number(request.timeoutNano ?? 0);
    const deadline = timeoutNs > 0 ? Date.now() + timeoutNs / 1e6 : undefined;
    const timer =
      timeoutNs > 0 ? setTimeout(() => controller.abort(new DOMException('context deadline exceeded', 'TimeoutError')), Math.ceil(timeoutNs / 1e6)) : undefined;
    timer?.unref();
    const metadata = metadataFromPairs(request.metadata);
    const responded: (() => void)[] = [];
    const ctx: CallContext = {
      service: request.service,
      method: request.method,
      streamId,
      metadata,
      namespace: metadataValue(metadata, NAMESPACE_KEY),
      deadline,
      signal: controller.signal,
      peer: this.peer,
      onResponded: (fn) => responded.push(fn),
    };
    let status: Status = { code: Code.OK, message: '', details: [] };
    let payload: Uint8Array | undefined;
    try {
      const response: unknown = await method.handler(decoded, ctx);
      payload = method.responseType.encode(response ?? {}).finish();
      if (payload.length > MESSAGE_LENGTH_MAX) {
        const err = oversizedError(payload.length, MESSAGE_LENGTH_MAX);
        status = { code: err.code, message: err.message, details: [] };
        payload = undefined;
      }
    } catch (e) {
      status = statusOfError(e);
      payload = undefined;
    } finally {
      if (timer) clearTimeout(timer);
      this.inFlight.delete(controller);
    }
    this.logger.debug(
      { service: request.service, method: request.method, streamId, code: Code[status.code], ...(status.code ? { err: status.message } : {}) },
      'ttrpc call',
    );
    this.send(streamId, status, payload, responded);
    this.server.settled();
  }

  /**
   * Writes one Response frame; `after` runs once the kernel has it — or at once when
   * it never will (the peer is gone): a Shutdown whose caller hung up must still end us.
   */
  private send(streamId: number, status: Status, payload: Uint8Array | undefined, after: (() => void)[] = []): void {
    const done = (): void => {
      for (const fn of after) fn();
    };
    if (this.closed || this.socket.destroyed) {
      done();
      return;
    }
    // Like Go, always send a status; an OK one is an empty sub-message.
    const statusMessage: google.rpc.IStatus =
      status.code === Code.OK ? {} : { code: status.code, message: status.message, details: status.details.map((d) => ({ type_url: d.typeUrl, value: d.value })) };
    const data = ttrpc.Response.encode({ status: statusMessage, payload: payload && payload.length > 0 ? payload : undefined }).finish();
    writeFrame(this.socket, streamId, MessageType.Response, data, after.length ? done : undefined);
  }
}

export class TtrpcServer {
  private readonly services = new Map<string, ServiceDefinition>();
  private readonly connections = new Set<Connection>();
  private readonly netServer: net.Server;
  private readonly logger: ServerLogger;
  private readonly requireSameUser: boolean;
  /** a socket file we must remove ourselves (one served from an inherited fd) */
  private inheritedPath: string | undefined;
  private idleWaiters: (() => void)[] = [];

  constructor(options: ServerOptions = {}) {
    this.logger = options.logger ?? silent;
    this.requireSameUser = options.requireSameUser ?? true;
    this.netServer = net.createServer({ allowHalfOpen: false }, (socket) => this.accept(socket));
    this.netServer.on('error', (err) => this.logger.warn({ err: err.message }, 'ttrpc server error'));
  }

  /** Adds a service; a second registration of the same name replaces the first. */
  register(service: ServiceDefinition): void {
    this.services.set(service.serviceName, service);
  }

  service(name: string): ServiceDefinition | undefined {
    return this.services.get(name);
  }

  /** Creates the socket at `path` (mode `mode`, never briefly wider) and listens. */
  async listen(path: string, mode = 0o600): Promise<void> {
    // The umask makes the socket file born with `mode`; chmod would leave a window.
    const oldMask = process.umask(0o777 & ~mode);
    try {
      await new Promise<void>((resolve, reject) => {
        this.netServer.once('error', reject);
        this.netServer.listen(path, () => {
          this.netServer.off('error', reject);
          resolve();
        });
      });
    } finally {
      process.umask(oldMask);
    }
  }

  /**
   * Serves on an already listening socket (e.g. fd 3 from the shim's `start`);
   * `path`, if given, is removed when the server stops.
   */
  async listenFd(fd: number, path?: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.netServer.once('error', reject);
      this.netServer.listen({ fd }, () => {
        this.netServer.off('error', reject);
        resolve();
      });
    });
    this.inheritedPath = path;
  }

  private accept(socket: net.Socket): void {
    let peer: PeerInfo | undefined;
    const fd = socketFd(socket);
    if (fd !== undefined) {
      try {
        peer = native().peerCredentials(fd);
      } catch (e) {
        this.logger.warn({ err: (e as Error).message }, 'ttrpc: cannot read peer credentials');
      }
    }
    if (this.requireSameUser) {
      const uid = process.geteuid?.();
      const gid = process.getegid?.();
      if (!peer || peer.uid !== uid || peer.gid !== gid) {
        this.logger.warn({ peer }, 'ttrpc: connection from another user refused');
        socket.destroy();
        return;
      }
    }
    this.connections.add(new Connection(this, socket, peer, this.logger));
  }

  /** @internal */
  forget(conn: Connection): void {
    this.connections.delete(conn);
  }

  /** @internal a call finished */
  settled(): void {
    if (this.busy() > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private busy(): number {
    let n = 0;
    for (const c of this.connections) n += c.busy;
    return n;
  }

  /** Stops accepting; resolves once the last connection has closed too. */
  private stopListening(): Promise<void> {
    if (!this.netServer.listening) return Promise.resolve();
    const closed = new Promise<void>((resolve) => this.netServer.close(() => resolve()));
    // libuv removes the socket file of a path it bound itself; that of an
    // inherited fd is ours to remove.
    if (this.inheritedPath) fs.rmSync(this.inheritedPath, { force: true });
    return closed;
  }

  /**
   * Stops accepting, lets calls in flight finish (at most `graceMs`), then closes
   * every connection after its last response is written. Removes the socket file.
   */
  async shutdown(graceMs = 2000): Promise<void> {
    const stopped = this.stopListening();
    if (this.busy() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const c of this.connections) {
      c.socket.end();
      // a peer that never closes its side must not keep us
      setTimeout(() => c.socket.destroy(), graceMs).unref();
    }
    await stopped;
  }

  /** Stops at once: drops every connection and calls in flight. */
  async close(): Promise<void> {
    const stopped = this.stopListening();
    for (const c of this.connections) c.socket.destroy();
    await stopped;
  }
}
