/**
 * Starting an exec'd process for the task service (runtime/lifecycle/exec in-process).
 * Without a terminal its stdio are containerd's FIFOs, handed straight to it; with one
 * it gets a pty whose master the shim relays (console.ts).
 */
import type { Logger } from 'pino';
import { native } from '../../addon';
import { closeQuietly } from '../../runtime/launch/sync-channel';
import type { Process } from '../../runtime/spec/types';
import { ShimConsole } from './console';
import type { ShimContainer } from './container';
import type { ShimProcess } from './process';
import { ProcessIo } from './stdio';

export async function execProcess(root: string, namespace: string, c: ShimContainer, p: ShimProcess, spec: Process, onExit: (p: ShimProcess) => void, log: Logger): Promise<void> {
  const { execInContainer } = require('../../runtime/lifecycle/exec') as typeof import('../../runtime/lifecycle/exec');
  // ExecProcessRequest.terminal and the spec's say the same under containerd; the request decides
  const process: Process = { ...spec, terminal: p.io.terminal };
  const tty = process.terminal ? ShimConsole.open('exec', p.io) : undefined;
  let io: ProcessIo;
  try {
    io = tty ? ProcessIo.none('exec') : await ProcessIo.open('exec', p.io, { processId: p.id, namespace });
  } catch (e) {
    tty?.close();
    throw e;
  }
  p.stdio = io;
  p.console = tty;
  try {
    const proc = await execInContainer({
      root,
      id: c.id,
      process: () => ({ process }),
      // a terminal is relayed by us (the foreground console), anything else runs detached
      detach: !tty,
      foregroundConsole: tty ? () => tty.childEnd : undefined,
      stdio: io.stdio,
      debug: (m) => log.debug(m),
    });
    try {
      tty?.attach('exec');
    } catch (e) {
      native().pidfdSendSignal(proc.pidfd, 9);
      native().reap(proc.pidfd, true); // at once: SIGKILL'd
      closeQuietly(proc.pidfd);
      throw e;
    }
    p.track(proc.pid, proc.pidfd, onExit);
  } catch (e) {
    await io.close();
    tty?.close();
    p.console = undefined;
    throw e;
  } finally {
    io.releaseChildEnds();
    tty?.releaseChildEnd();
  }
}
