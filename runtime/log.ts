/**
 * The CLI's log, in runc's shapes because containerd and Docker read it:
 * `--log-format json` writes {"level","msg","time"} lines; text writes logrus lines
 * (time="…" level=error msg="…"). Without --log it goes to stderr. This is a few
 * lines rather than pino so that a CLI call does not pay for loading a logger.
 */
import * as fs from 'node:fs';

export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface CliLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  /** true when the log goes to a file (so errors also need a plain stderr line) */
  readonly toFile: boolean;
}

export function rfc3339(date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function quote(s: string): string {
  return JSON.stringify(s);
}

export function formatLine(format: 'text' | 'json', level: Level, msg: string, date = new Date()): string {
  if (format === 'json') return `${JSON.stringify({ level, msg, time: rfc3339(date) })}\n`;
  return `time=${quote(rfc3339(date))} level=${level} msg=${quote(msg)}\n`;
}

/** Writes all of `text` to an fd, synchronously (the CLI may exit right after). */
export function writeAllSync(fd: number, text: string | Buffer): void {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

export function createCliLogger(options: { log?: string; logFormat: 'text' | 'json'; debug: boolean }): CliLogger {
  let fd = 2;
  if (options.log) {
    try {
      fd = fs.openSync(options.log, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT, 0o644);
    } catch {
      fd = 2; // an unwritable log must not hide the error itself
    }
  }
  const write = (level: Level, msg: string): void => {
    try {
      writeAllSync(fd, formatLine(options.logFormat, level, msg));
    } catch {
      // logging must never be why a command fails
    }
  };
  return {
    toFile: fd !== 2,
    debug: (msg) => options.debug && write('debug', `[${performance.now().toFixed(1)} ms] ${msg}`),
    info: (msg) => write('info', msg),
    warn: (msg) => write('warning', msg),
    error: (msg) => write('error', msg),
  };
}
