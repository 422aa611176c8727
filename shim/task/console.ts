/**
 * A process' terminal for containerd (`terminal: true` on Create or Exec). hutch-init
 * gets one end of a socketpair as its console socket and sends the pty master over it
 * (runc's console-socket protocol); the shim relays containerd's stdin FIFO → master
 * and master → stdout FIFO on the event loop, with backpressure both ways (a slow
 * reader pauses the master, never the shim). stderr is unused with a terminal.
 *
 * Output is drained before the exit is reported: the master reads until EIO, which the
 * kernel signals once every holder of the slave has closed it, and the last bytes are
 * in the FIFO before Wait answers (containerd's client closes its FIFOs right after).
 * A process that left a child holding the terminal cannot delay the exit for long:
 * the drain is bounded.
 *
 * Example:
 *   const tty = ShimConsole.open('create', req);     // FIFOs opened, socketpair made
 *   await createContainer({ ..., foregroundConsole: () => tty.childEnd });
 *   tty.attach('create');                            // the master arrived meanwhile
 *   tty.resize(80, 24);
 *   await tty.drained();                             // after the process exited
 *   tty.close();
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import type * as ttyType from 'node:tty';

import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import { closeQuietly } from '../../runtime/launch/sync-channel';
import { openOrFail, plainPath, type IoPaths } from './stdio';

/** How long the exit waits for the terminal's last output. */
export const CONSOLE_DRAIN_MS = 2000;

/** The relay reads and writes FIFOs only: a file:// or binary:// stream is refused up front. */
function fifoPath(op: string, uri: string): string {
  if (uri.startsWith('file://') || uri.startsWith('binary://')) {
    throw new HutchError('create', `terminal output to "${uri}": only FIFOs are supported with a terminal`, { kind: 'unimplemented' });
  }
  return plainPath(op, uri).path;
}

export class ShimConsole {
  private ourEnd: number;
  /** the end hutch-init gets as its console socket; -1 once released */
  childEnd: number;
  private master = -1;
  private masterStream?: ttyType.ReadStream;
  private stdin?: net.Socket;
  private stdout?: net.Socket;
  /** fds held so the FIFOs neither block nor end early: stdout's read end, stdin's write end */
  private stdoutHold = -1;
  private stdinHold = -1;
  private outputEnded!: Promise<void>;

  private constructor(ourEnd: number, childEnd: number) {
    this.ourEnd = ourEnd;
    this.childEnd = childEnd;
  }

  /** Opens containerd's FIFOs and the console socketpair; nothing is relayed before attach. */
  static open(op: string, paths: IoPaths): ShimConsole {
    const [ours, theirs] = native().socketpair();
    const c = new ShimConsole(ours, theirs);
    try {
      if (paths.stdout) {
        const file = fifoPath(op, paths.stdout);
        c.stdoutHold = openOrFail(op, 'stdout', file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        c.stdout = new net.Socket({ fd: openOrFail(op, 'stdout', file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK), readable: false, writable: true });
        c.stdout.on('error', () => undefined); // the client went away: output is dropped, as by the runc shim
      }
      if (paths.stdin) {
        const file = fifoPath(op, paths.stdin);
        const readFd = openOrFail(op, 'stdin', file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
        c.stdinHold = openOrFail(op, 'stdin', file, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
        c.stdin = new net.Socket({ fd: readFd, readable: true, writable: false });
        c.stdin.on('error', () => undefined);
        c.stdin.pause(); // until the master is here
      }
    } catch (e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** After create or exec: the process has its copy of the console socket. */
  releaseChildEnd(): void {
    closeQuietly(this.childEnd);
    this.childEnd = -1;
  }

  /** Takes the pty master hutch-init sent and starts relaying. */
  attach(op: string): void {
    this.releaseChildEnd();
    const ours = this.ourEnd;
    this.ourEnd = -1;
    native().setBlocking(ours, false);
    const got = native().recvFds(ours, 4096);
    closeQuietly(ours);
    if (!got || got.fds.length !== 1) {
      for (const fd of got?.fds ?? []) closeQuietly(fd);
      throw new HutchError(op, 'console: hutch-init sent no pty master', { step: 'console' });
    }
    this.master = got.fds[0];
    // loaded here: only terminal sessions pay for it
    const tty = require('node:tty') as typeof ttyType;
    const master = new tty.ReadStream(this.master);
    this.masterStream = master;
    this.outputEnded = new Promise<void>((resolve) => {
      // EIO once every holder of the slave has gone: the end of the output
      master.on('error', () => resolve());
      master.on('end', () => resolve());
      master.on('close', () => resolve());
    });
    if (this.stdout) master.pipe(this.stdout, { end: false });
    else master.resume(); // nobody reads: keep the pty from filling up
    if (this.stdin) {
      this.stdin.pipe(master, { end: false });
      this.stdin.resume();
    }
  }

  /** ResizePty: columns and rows, as containerd sends them. */
  resize(width: number, height: number): void {
    if (this.master < 0) return;
    try {
      native().setWindowSize(this.master, height, width);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EBADF' && (e as NodeJS.ErrnoException).code !== 'EIO') throw e;
    }
  }

  /** CloseIO(stdin): the relay sees EOF once the client closes its end too. */
  closeStdin(): void {
    closeQuietly(this.stdinHold);
    this.stdinHold = -1;
  }

  /** Resolves once the output is in the stdout FIFO (bounded: a left-over child may hold the pty). */
  async drained(limitMs = CONSOLE_DRAIN_MS): Promise<void> {
    if (!this.masterStream) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.outputEnded, new Promise<void>((r) => (timer = setTimeout(r, limitMs)))]);
    clearTimeout(timer);
    const out = this.stdout;
    if (out && out.writableLength > 0) {
      await Promise.race([new Promise<void>((r) => out.once('drain', () => r())), new Promise<void>((r) => (timer = setTimeout(r, limitMs)))]);
      clearTimeout(timer);
    }
  }

  /** At delete: stops relaying and closes everything; safe to call more than once. */
  close(): void {
    this.stdin?.unpipe();
    this.stdin?.destroy();
    this.stdin = undefined;
    this.masterStream?.unpipe();
    if (this.masterStream) this.masterStream.destroy();
    else closeQuietly(this.master);
    this.masterStream = undefined;
    this.master = -1;
    this.stdout?.destroy();
    this.stdout = undefined;
    closeQuietly(this.stdoutHold);
    closeQuietly(this.stdinHold);
    closeQuietly(this.ourEnd);
    closeQuietly(this.childEnd);
    this.stdoutHold = this.stdinHold = this.ourEnd = this.childEnd = -1;
  }
}
