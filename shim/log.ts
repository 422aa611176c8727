/**
 * The serving shim's log: pino JSON lines into the `log` FIFO containerd made in the
 * bundle (containerd reads it from before `start`, and copies what it gets into its
 * own log). Opened non-blocking, so a slow or absent reader never stalls the shim;
 * without a reader the shim logs nothing.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import pino, { type Logger } from 'pino';

/** Log bytes kept in memory while the FIFO is full (sonic-boom drops beyond it). */
export const LOG_BUFFER_MAX = 4 * 1024 * 1024;

export interface ShimLog {
  logger: Logger;
  /** writes out what is buffered (before exit) */
  flush(): void;
}

export function openShimLog(bundle: string, fields: { id: string; namespace: string }, debug: boolean): ShimLog {
  let fd: number | undefined;
  try {
    fd = fs.openSync(path.join(bundle, 'log'), fs.constants.O_WRONLY | fs.constants.O_NONBLOCK | fs.constants.O_APPEND);
  } catch {
    fd = undefined; // no FIFO or no reader (ENXIO): nowhere to log
  }
  if (fd === undefined) return { logger: pino({ enabled: false }), flush: () => undefined };
  // Bounded: containerd stops reading a shim's log when that container's connection
  // closes (and a group shim outlives it); what does not fit is dropped, not kept.
  const dest = pino.destination({ fd, sync: false, maxLength: LOG_BUFFER_MAX });
  // a reader that went away (EPIPE) or a full FIFO must not take the shim down
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
  return {
    logger,
    flush: () => {
      // sonic-boom's flushSync retries EAGAIN forever: a FIFO nobody reads any more would
      // keep the shim from exiting. One pass, then what is left is lost (only log).
      (dest as unknown as { retryEAGAIN: () => boolean }).retryEAGAIN = () => false;
      try {
        dest.flushSync();
      } catch {
        // EAGAIN from a full FIFO, EPIPE without a reader
      }
    },
  };
}
