/**
 * The foreground terminal of `hutch run` and `hutch exec` when the process has one.
 * No forked Node and no socket path: hutch-init gets one end of a socketpair as its
 * console socket and sends the pty master over it (runc's console-socket protocol);
 * we relay the master to our own stdio. Our stdin goes raw while it is a terminal,
 * and our window size is copied to the pty at once and on every SIGWINCH.
 *
 * Example:
 *   const relay = ConsoleRelay.open(nativeOps);
 *   await createContainer({ ..., consoleSocketFd: relay.childEnd });
 *   relay.attach();                 // the master arrived during create
 *   ... wait for the process ...
 *   await relay.finish();           // output drained, terminal restored
 */
import type * as ttyType from 'node:tty';
import type { NativeOps } from '../../addon';
import { HutchError } from '../errors';
import { closeQuietly } from '../launch/sync-channel';

/** How long output may keep coming after the process exited (a child it left may hold the pty). */
const DRAIN_AFTER_EXIT_MS = 200;

export class ConsoleRelay {
  private master = -1;
  private stream?: ttyType.ReadStream;
  /** our terminal's settings before we made it raw */
  private savedTerminal: Buffer | null = null;
  private readonly restoreOnExit = (): void => this.restoreTerminal();
  private drained?: Promise<void>;
  private readonly onWinch = (): void => this.copyWindowSize();
  private readonly onInput = (data: Buffer): void => {
    this.stream?.write(data);
  };

  private constructor(
    private readonly nativeOps: NativeOps,
    private ourEnd: number,
    /** the end hutch-init gets as its console socket (-1 once closed) */
    public childEnd: number,
  ) {}

  static open(nativeOps: NativeOps): ConsoleRelay {
    const [ours, theirs] = nativeOps.socketpair();
    return new ConsoleRelay(nativeOps, ours, theirs);
  }

  /** Our terminal's size (stdout, else stdin), for process.consoleSize. */
  static hostSize(nativeOps: NativeOps): { rows: number; cols: number } | undefined {
    for (const fd of [1, 0, 2]) {
      const size = nativeOps.getWindowSize(fd);
      if (size && size.rows && size.cols) return size;
    }
    return undefined;
  }

  /** Takes the master (sent while the process was set up) and starts relaying. */
  attach(op: string): void {
    const ours = this.ourEnd;
    this.ourEnd = -1;
    this.closeEnds();
    this.nativeOps.setBlocking(ours, false);
    const got = this.nativeOps.recvFds(ours, 4096);
    closeQuietly(ours);
    if (!got || got.fds.length !== 1) {
      for (const fd of got?.fds ?? []) closeQuietly(fd);
      throw new HutchError(op, 'console: hutch-init sent no pty master', { step: 'console' });
    }
    this.master = got.fds[0];
    this.copyWindowSize();
    // loaded here: only terminal sessions pay for it
    const tty = require('node:tty') as typeof ttyType;
    const stream = new tty.ReadStream(this.master);
    this.stream = stream;
    this.drained = new Promise<void>((resolve) => {
      stream.on('data', (d: Buffer) => process.stdout.write(d));
      // EIO once every holder of the slave has gone: the end of the output
      stream.on('error', () => resolve());
      stream.on('end', () => resolve());
      stream.on('close', () => resolve());
    });
    // raw as cfmakeraw makes it: the container's terminal does all the processing
    if (process.stdin.isTTY) {
      this.savedTerminal = this.nativeOps.makeRaw(0);
      process.once('exit', this.restoreOnExit);
    }
    process.stdin.on('data', this.onInput);
    process.stdin.on('error', () => undefined);
    process.stdin.resume();
    process.on('SIGWINCH', this.onWinch);
  }

  /** After the process exited: waits for its last output (bounded), restores our terminal. */
  async finish(): Promise<void> {
    if (this.drained) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.drained, new Promise<void>((r) => (timer = setTimeout(r, DRAIN_AFTER_EXIT_MS)))]);
      clearTimeout(timer);
    }
    this.close();
  }

  /** Stops relaying and restores our terminal; safe to call more than once. */
  close(): void {
    process.off('SIGWINCH', this.onWinch);
    process.stdin.off('data', this.onInput);
    this.restoreTerminal();
    process.stdin.pause();
    if (this.stream) {
      this.stream.destroy();
      this.stream = undefined;
      this.master = -1;
    } else {
      closeQuietly(this.master);
      this.master = -1;
    }
    this.closeEnds();
  }

  /** The socketpair ends, each closed once (fd numbers are reused at once). */
  private closeEnds(): void {
    closeQuietly(this.ourEnd);
    closeQuietly(this.childEnd);
    this.ourEnd = -1;
    this.childEnd = -1;
  }

  private restoreTerminal(): void {
    if (!this.savedTerminal) return;
    try {
      this.nativeOps.restoreTerminal(0, this.savedTerminal);
    } catch {
      // our terminal went away
    }
    this.savedTerminal = null;
    process.off('exit', this.restoreOnExit);
  }

  private copyWindowSize(): void {
    if (this.master < 0) return;
    const size = ConsoleRelay.hostSize(this.nativeOps);
    if (!size) return;
    try {
      this.nativeOps.setWindowSize(this.master, size.rows, size.cols);
    } catch {
      // the pty is closing
    }
  }
}
