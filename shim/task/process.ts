/**
 * One process the shim serves — a container's init or an exec — as an explicit state
 * machine (containerd's initState/execState): created → running → stopped → deleted.
 * An illegal transition is a typed error naming both states. Exits are learnt from the
 * pidfd on libuv, recorded with their time, and kept for any number of Waits.
 */
import type { ExitStatus, ExitWatch } from '../../addon';
import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import { closeQuietly } from '../../runtime/launch/sync-channel';
import type { ShimConsole } from './console';
import type { ProcessIo } from './stdio';

export type ProcessState = 'created' | 'running' | 'stopped' | 'deleted';

export interface IoDescription {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export interface ExitRecord {
  status: number;
  at: number;
}

/** containerd's reaper: exit code, or 128 + signal. */
export function exitStatusOf(s: ExitStatus | null): number {
  if (!s) return 255;
  return s.code ?? 128 + (s.signal ?? 0);
}

export class ShimProcess {
  state: ProcessState = 'created';
  pid = 0;
  private pidfd = -1;
  private watch?: ExitWatch;
  exit?: ExitRecord;
  private readonly exited: Promise<ExitRecord>;
  private resolveExit!: (e: ExitRecord) => void;
  /** resolves once the start event is out: an exit event never overtakes it */
  private started!: () => void;
  readonly startPublished: Promise<void>;
  /** Start was asked for: its event comes before this process' exit event */
  startRequested = false;
  /** the terminal, for a process that has one */
  console?: ShimConsole;

  constructor(
    /** the container id for the init, the exec id for an exec */
    readonly id: string,
    readonly containerId: string,
    readonly io: IoDescription,
    public stdio?: ProcessIo,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
    this.startPublished = new Promise((resolve) => (this.started = resolve));
  }

  get isInit(): boolean {
    return this.id === this.containerId;
  }

  transition(to: ProcessState, op: string): void {
    const legal: Record<ProcessState, ProcessState[]> = {
      created: ['running', 'stopped', 'deleted'],
      running: ['stopped'],
      stopped: ['deleted'],
      deleted: [],
    };
    if (!legal[this.state].includes(to)) {
      throw new HutchError(op, `process ${this.id} is ${this.state}, cannot become ${to}`, { kind: 'failed-precondition' });
    }
    this.state = to;
  }

  /**
   * Takes over a started process' pidfd and watches it (we are its parent: reaping).
   * The exit is recorded at reap time and reported (Wait, the exit event) once the
   * process' terminal output is drained, so no client closes its FIFO before it.
   */
  track(pid: number, pidfd: number, onExit: (p: ShimProcess) => void): void {
    this.pid = pid;
    this.pidfd = pidfd;
    this.watch = native().watchExit(pidfd, true, (status) => {
      const exit = { status: exitStatusOf(status), at: Date.now() };
      closeQuietly(this.pidfd);
      this.pidfd = -1;
      const report = (): void => {
        this.exit = exit;
        if (this.state === 'created' || this.state === 'running') this.state = 'stopped';
        this.resolveExit(exit);
        onExit(this);
      };
      if (this.console) void this.console.drained().then(report, report);
      else report();
    });
  }

  markStartPublished(): void {
    this.started();
  }

  /** Resolves with the exit (at once if it already happened). */
  wait(): Promise<ExitRecord> {
    return this.exited;
  }

  signal(signal: number): void {
    if (this.pidfd < 0 || this.state === 'stopped' || this.state === 'deleted') {
      throw new HutchError('kill', 'process already finished', { kind: 'not-found', errno: 'ESRCH' });
    }
    try {
      native().pidfdSendSignal(this.pidfd, signal);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') throw new HutchError('kill', 'process already finished', { kind: 'not-found', errno: 'ESRCH' });
      throw e;
    }
  }

  /** Lets go of the process' I/O: the shim's FIFO ends, its logging binary (given time to finish) and its terminal. */
  async closeIo(): Promise<void> {
    this.console?.close();
    await this.stdio?.close();
  }

  /** Stops watching (the shim is going away; the kernel keeps the process). */
  release(): void {
    this.watch?.close();
    closeQuietly(this.pidfd);
    this.pidfd = -1;
  }
}
