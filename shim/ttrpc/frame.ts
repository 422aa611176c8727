/**
 * ttrpc framing: a 10-byte header (data length and stream id as big-endian uint32,
 * message type, flags) followed by the data, one protobuf message. There is no
 * preface: the first bytes on a connection are a frame.
 */
import type { Writable } from 'node:stream';

export const HEADER_LENGTH = 10;
/** The largest data a peer may send (4 MiB, as containerd/ttrpc). */
export const MESSAGE_LENGTH_MAX = 4 << 20;

export const enum MessageType {
  Request = 0x01,
  Response = 0x02,
  /** streaming, ttrpc ≥ 1.2 only; containerd 1.6 never sends it */
  Data = 0x03,
}

export interface FrameHeader {
  length: number;
  streamId: number;
  type: number;
  flags: number;
}

export interface Frame extends FrameHeader {
  data: Buffer;
}

export function encodeHeader(streamId: number, type: number, flags: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_LENGTH);
  header.writeUInt32BE(length, 0);
  header.writeUInt32BE(streamId, 4);
  header.writeUInt8(type, 8);
  header.writeUInt8(flags, 9);
  return header;
}

/**
 * Writes one frame. Corked, so header and data leave in a single write rather than
 * as a lone 10-byte segment. `written` runs once the data is handed to the kernel.
 * Neither side sets flags: they only matter to streaming, which hutch does not use.
 */
export function writeFrame(out: Writable, streamId: number, type: MessageType, data: Uint8Array, written?: () => void): void {
  out.cork();
  out.write(encodeHeader(streamId, type, 0, data.length));
  out.write(data, written);
  out.uncork();
}

/** One frame as a single buffer (header + data). */
export function encodeFrame(streamId: number, type: number, flags: number, data: Uint8Array): Buffer {
  return Buffer.concat([encodeHeader(streamId, type, flags, data.length), data]);
}

export function decodeHeader(buf: Buffer): FrameHeader {
  return { length: buf.readUInt32BE(0), streamId: buf.readUInt32BE(4), type: buf.readUInt8(8), flags: buf.readUInt8(9) };
}

export interface FrameSink {
  /** a complete frame */
  frame(frame: Frame): void;
  /** a frame longer than MESSAGE_LENGTH_MAX; its data has been read and thrown away */
  oversized(header: FrameHeader): void;
}

/**
 * Turns the chunks a stream socket delivers into frames, however the chunks split
 * them. A frame's data is copied once into a buffer of its exact size; an oversized
 * frame's data is skipped as it arrives, so it never occupies memory.
 *
 * Example: const reader = new FrameReader({ frame: (f) => …, oversized: (h) => … });
 *          socket.on('data', (chunk) => reader.push(chunk));
 */
export class FrameReader {
  private readonly header = Buffer.alloc(HEADER_LENGTH);
  private headerFill = 0;
  private current: FrameHeader | undefined;
  private body: Buffer | undefined;
  private bodyFill = 0;
  /** bytes of an oversized frame still to skip */
  private skipping = 0;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxLength = MESSAGE_LENGTH_MAX,
  ) {}

  /** true while a frame has been started but not completed */
  get partial(): boolean {
    return this.headerFill > 0 || this.current !== undefined;
  }

  push(chunk: Buffer): void {
    let off = 0;
    while (off < chunk.length) {
      if (!this.current) {
        const take = Math.min(HEADER_LENGTH - this.headerFill, chunk.length - off);
        chunk.copy(this.header, this.headerFill, off, off + take);
        this.headerFill += take;
        off += take;
        if (this.headerFill < HEADER_LENGTH) return;
        this.headerFill = 0;
        this.startFrame(decodeHeader(this.header));
        continue;
      }
      if (this.skipping > 0) {
        const take = Math.min(this.skipping, chunk.length - off);
        this.skipping -= take;
        off += take;
        if (this.skipping === 0) this.finishOversized();
        continue;
      }
      const body = this.body as Buffer;
      const take = Math.min(body.length - this.bodyFill, chunk.length - off);
      chunk.copy(body, this.bodyFill, off, off + take);
      this.bodyFill += take;
      off += take;
      if (this.bodyFill === body.length) this.finishFrame();
    }
  }

  private startFrame(header: FrameHeader): void {
    this.current = header;
    if (header.length > this.maxLength) {
      this.skipping = header.length;
      return;
    }
    if (header.length === 0) {
      this.body = Buffer.alloc(0);
      this.finishFrame();
      return;
    }
    this.body = Buffer.allocUnsafe(header.length);
    this.bodyFill = 0;
  }

  private finishFrame(): void {
    const header = this.current as FrameHeader;
    const data = this.body as Buffer;
    this.current = undefined;
    this.body = undefined;
    this.bodyFill = 0;
    this.sink.frame({ ...header, data });
  }

  private finishOversized(): void {
    const header = this.current as FrameHeader;
    this.current = undefined;
    this.sink.oversized(header);
  }
}
