/**
 * The serving shim's log: pino JSON lines into the `log` FIFO containerd made in the
 * bundle (containerd reads it from before `start`, and copies what it gets into its
 * own log). Opened non-blocking, so a slow or absent reader never stalls the shim;
 * without a reader the shim logs nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import pino, { type Logger } from 'pino';

/** A bound on log bytes sonic-boom may hold after a failed write (it drops beyond it). */
export const LOG_BUFFER_MAX = 4 * 1024 * 1024;

export interface ShimLog {
  /** writes each line at once (or drops it): nothing waits in memory to be flushed at exit */
  logger: Logger;
}

export function openShimLog(bundle: string, fields: { id: string; namespace: string }, debug: boolean): ShimLog {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.join(bundle, 'log'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_APPEND);
  } catch {
    fd = undefined; // no FIFO or no reader (ENXIO): nowhere to log
  }
  if (fd === undefined) return { logger: pino({ enabled: false }) };
  // containerd stops reading a shim's log when that container's connection closes (a
  // group shim outlives it), and closes the FIFO. Each line is written at once with a
  // non-blocking write, and dropped if the FIFO is full (EAGAIN) or has no reader
  // (EPIPE): sonic-boom's buffered mode retries both forever in its exit flush, which
  // kept a shim from ever exiting after Shutdown.
  const dest = pino.destination({ fd, sync: true, retryEAGAIN: () => false, maxLength: LOG_BUFFER_MAX });
  dest.on('error', () => undefined);
  const logger = pino(
    {
      level: debug ? 'debug' : 'info',
      base: { pid: process.pid, ...fields },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
  return { logger };
}
