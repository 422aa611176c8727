/**
 * The parent's end of the sync socket to hutch-init: framed messages
 * ({u32 type, u32 len, payload}, plan_format.h) read on libuv with recvmsg, since a
 * message may carry an fd (the seccomp listener). Never blocks the event loop.
 */
import * as os from 'node:os';
import type { ExitWatch, NativeOps } from '../../addon';
import { Msg } from '../../addon/plan-codec';
import { errnoText, HutchError } from '../errors';
import { writeAllSync } from '../log';

export interface SyncMessage {
  type: number;
  payload: Buffer;
  fds: number[];
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));

export function errnoName(n: number): string {
  return ERRNO_NAMES.get(n) ?? `errno ${n}`;
}

/** Turns an ERROR message into a HutchError: "<detail>: <strerror>". */
export function initError(op: string, payload: Buffer): HutchError {
  const errno = payload.readInt32LE(0);
  const stepEnd = payload.indexOf(0, 4);
  const step = payload.toString('utf8', 4, stepEnd);
  const detailEnd = payload.indexOf(0, stepEnd + 1);
  const detail = payload.toString('utf8', stepEnd + 1, detailEnd < 0 ? payload.length : detailEnd);
  const name = errno ? errnoName(errno) : undefined;
  return new HutchError(op, name ? `${detail}: ${errnoText(name)}` : detail, { step, errno: name });
}

export class SyncChannel {
  private buffer = Buffer.alloc(0);
  private fds: number[] = [];
  private readonly queue: SyncMessage[] = [];
  private waiter?: { resolve: (m: SyncMessage) => void; reject: (e: Error) => void };
  private closedError?: Error;
  /** true once the other end closed the socket (EOF), as opposed to a read error */
  ended = false;
  private readonly watch: ExitWatch;

  constructor(
    private readonly fd: number,
    private readonly nativeOps: NativeOps,
    private readonly op: string,
  ) {
    nativeOps.setBlocking(fd, false);
    this.watch = nativeOps.watchFd(fd, false, () => this.onReadable());
  }

  send(type: number, payload: Buffer = Buffer.alloc(0)): void {
    const head = Buffer.alloc(8);
    head.writeUInt32LE(type, 0);
    head.writeUInt32LE(payload.length, 4);
    writeAllSync(this.fd, Buffer.concat([head, payload]));
  }

  /** The next message; rejects when hutch-init closed the socket first. */
  next(): Promise<SyncMessage> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  close(): void {
    this.watch.close();
    for (const fd of this.fds) closeQuietly(fd);
    closeQuietly(this.fd);
  }

  private onReadable(): void {
    for (;;) {
      let got: { data: Buffer; fds: number[] } | null;
      try {
        got = this.nativeOps.recvFds(this.fd, 65536);
      } catch (e) {
        this.fail(new HutchError(this.op, `read from hutch-init: ${(e as Error).message}`, { step: 'sync' }));
        return;
      }
      if (got === null) break;
      if (got.data.length === 0) {
        this.ended = true;
        this.fail(new HutchError(this.op, 'hutch-init closed the sync socket', { step: 'sync', kind: 'internal' }));
        return;
      }
      this.buffer = Buffer.concat([this.buffer, got.data]);
      this.fds.push(...got.fds);
      this.parse();
    }
  }

  private parse(): void {
    while (this.buffer.length >= 8) {
      const len = this.buffer.readUInt32LE(4);
      if (this.buffer.length < 8 + len) return;
      const type = this.buffer.readUInt32LE(0);
      const msg: SyncMessage = { type, payload: this.buffer.subarray(8, 8 + len), fds: type === Msg.SECCOMP_FD ? this.fds.splice(0, 1) : [] };
      this.buffer = this.buffer.subarray(8 + len);
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w.resolve(msg);
      } else {
        this.queue.push(msg);
      }
    }
  }

  /** Fails the waiting (and every later) next() with `err`: the parent gave up. */
  abort(err: Error): void {
    this.fail(err);
  }

  private fail(err: Error): void {
    this.closedError = err;
    this.watch.close();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.reject(err);
    }
  }
}

export function closeQuietly(fd: number | undefined): void {
  if (fd === undefined || fd < 0) return;
  try {
    require('node:fs').closeSync(fd);
  } catch {
    // already closed
  }
}
