/**
 * A process' stdio from containerd's paths (FIFOs made by the client, `fifo://`,
 * `file://`, `binary://` logging binaries: binary-logger.ts). Without a terminal the
 * FIFOs are handed straight to the container — its writes land in containerd's FIFO
 * with no copy through the shim, so the shim is never the bottleneck and nothing is
 * left in a relay when the process exits. The shim keeps the other end of each FIFO
 * open, as the runc shim does: a read end on stdout and stderr (writes neither block
 * on open nor fail with EPIPE when the client detaches), a write end on stdin (no
 * early EOF) until CloseIO.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import { closeQuietly } from '../../runtime/launch/sync-channel';
import { isBinaryUri, startBinaryLogger, type BinaryLogger } from './binary-logger';

export interface IoPaths {
  stdin?: string | null;
  stdout?: string | null;
  stderr?: string | null;
  terminal?: boolean | null;
}

/** Who the process is, for a logging binary's CONTAINER_ID and CONTAINER_NAMESPACE. */
export interface IoOwner {
  processId: string;
  namespace: string;
}

const O_NONBLOCK = fs.constants.O_NONBLOCK;

/** The filesystem path in a stdio URI (fifo://, file://, or a bare path); append for file://. */
export function plainPath(op: string, uri: string): { path: string; append: boolean } {
  if (isBinaryUri(uri)) {
    // containerd picks the logging binary by stdout, which then takes stderr too
    throw new HutchError(op, `stdio "${uri}": a logging binary is given as stdout (it then gets stderr as well)`, { kind: 'invalid-argument', field: 'stderr' });
  }
  if (uri.startsWith('file://')) return { path: decodeURIComponent(new URL(uri).pathname), append: true };
  if (uri.startsWith('fifo://')) return { path: uri.slice('fifo://'.length), append: false };
  return { path: uri, append: false };
}

/** open(2) with the error naming the stream and the file; `mode` applies only with O_CREAT. */
export function openOrFail(op: string, what: string, file: string, flags: number, mode = 0o640): number {
  try {
    return fs.openSync(file, flags, mode);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HutchError(op, `open ${what} ${file}: ${err.message}`, { errno: err.code, path: file });
  }
}

export class ProcessIo {
  /** the fds the process gets as 0, 1, 2 */
  readonly stdio: [number, number, number];
  /** fds the shim holds for the process' lifetime (FIFO other ends) */
  private readonly held: number[] = [];
  /** the shim's write end on the stdin FIFO, closed by CloseIO */
  private stdinHold = -1;
  /** the logging binary (binary:// stdout) that reads stdout and stderr */
  private logger?: BinaryLogger;

  private constructor(stdio: [number, number, number]) {
    this.stdio = stdio;
  }

  /** /dev/null for 0, 1 and 2: a process with a terminal gets the pty instead. */
  static none(op: string): ProcessIo {
    const opened: number[] = [];
    try {
      const stdin = openOrFail(op, 'stdin', '/dev/null', fs.constants.O_RDONLY);
      opened.push(stdin);
      const out = openOrFail(op, 'stdout', '/dev/null', fs.constants.O_WRONLY);
      opened.push(out);
      const err = openOrFail(op, 'stderr', '/dev/null', fs.constants.O_WRONLY);
      return new ProcessIo([stdin, out, err]);
    } catch (e) {
      for (const fd of opened) closeQuietly(fd);
      throw e;
    }
  }

  /** Opens the paths for a process without a terminal (starting its logging binary, if any). */
  static async open(op: string, paths: IoPaths, owner: IoOwner): Promise<ProcessIo> {
    const opened: number[] = [];
    let logger: BinaryLogger | undefined;
    try {
      const stdin = ProcessIo.openStdin(op, paths.stdin, opened);
      if (isBinaryUri(paths.stdout)) {
        logger = await startBinaryLogger(op, paths.stdout as string, owner.processId, owner.namespace);
        opened.push(logger.stdout, logger.stderr);
      }
      const stdout = logger ? { fd: logger.stdout } : ProcessIo.openOutput(op, 'stdout', paths.stdout, opened);
      const stderr = logger ? { fd: logger.stderr } : ProcessIo.openOutput(op, 'stderr', paths.stderr, opened);
      const io = new ProcessIo([stdin.fd, stdout.fd, stderr.fd]);
      io.held.push(...[stdin.hold, stdout.hold, stderr.hold].filter((fd): fd is number => fd !== undefined));
      io.stdinHold = stdin.hold ?? -1;
      io.logger = logger;
      return io;
    } catch (e) {
      for (const fd of opened) closeQuietly(fd);
      await logger?.stop();
      throw e;
    }
  }

  private static openStdin(op: string, uri: string | null | undefined, opened: number[]): { fd: number; hold?: number } {
    if (!uri) return { fd: track(opened, openOrFail(op, 'stdin', '/dev/null', fs.constants.O_RDONLY)) };
    const { path: file } = plainPath(op, uri);
    const fd = track(opened, openOrFail(op, 'stdin', file, fs.constants.O_RDONLY | O_NONBLOCK));
    if (!isFifo(fd)) return { fd };
    // our writer keeps the container from seeing EOF before the client has written
    const hold = track(opened, openOrFail(op, 'stdin', file, fs.constants.O_WRONLY | O_NONBLOCK));
    native().setBlocking(fd, true);
    return { fd, hold };
  }

  private static openOutput(op: string, what: string, uri: string | null | undefined, opened: number[]): { fd: number; hold?: number } {
    if (!uri) return { fd: track(opened, openOrFail(op, what, '/dev/null', fs.constants.O_WRONLY)) };
    const { path: file, append } = plainPath(op, uri);
    if (append) {
      // file:// as containerd does it: parents made, both streams appended to the file
      try {
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
      } catch {
        // the open below names the problem
      }
      return { fd: track(opened, openOrFail(op, what, file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644)) };
    }
    // a reader of our own first: opening for writing then never blocks or fails
    const hold = track(opened, openOrFail(op, what, file, fs.constants.O_RDONLY | O_NONBLOCK));
    const fd = track(opened, openOrFail(op, what, file, fs.constants.O_WRONLY | O_NONBLOCK));
    native().setBlocking(fd, true);
    return { fd, hold: isFifo(fd) ? hold : (closeQuietly(hold), undefined) };
  }

  /** After the process started: it has its own copies, ours would keep pipes open. */
  releaseChildEnds(): void {
    for (const fd of this.stdio) closeQuietly(fd);
  }

  /** CloseIO(stdin): the process sees EOF once the client closes its end too. */
  closeStdin(): void {
    if (this.stdinHold >= 0) {
      closeQuietly(this.stdinHold);
      const i = this.held.indexOf(this.stdinHold);
      if (i >= 0) this.held.splice(i, 1);
      this.stdinHold = -1;
    }
  }

  /** At delete: everything the shim still holds; a logging binary gets SIGTERM and its time to finish. */
  async close(): Promise<void> {
    for (const fd of this.held) closeQuietly(fd);
    this.held.length = 0;
    this.stdinHold = -1;
    const logger = this.logger;
    this.logger = undefined;
    await logger?.stop();
  }
}

function track(list: number[], fd: number): number {
  list.push(fd);
  return fd;
}

function isFifo(fd: number): boolean {
  return fs.fstatSync(fd).isFIFO();
}
