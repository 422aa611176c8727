/**
 * The serving shim's log into containerd's `log` FIFO must never block the shim or
 * keep it from exiting. Regression: with sonic-boom's buffered mode, the exit flush
 * (ours, and pino's own at process exit) retried a full FIFO (EAGAIN) and a FIFO
 * without a reader (EPIPE) forever, and a shim hung after Shutdown — containerd stops
 * reading and closes the FIFO when that container's connection closes.
 */
import assert = require('node:assert/strict');
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { native } from '../../addon';
import { openShimLog } from '../../shim/log';
import { REPO_ROOT, tempDir } from '../fixtures/env';

/** A process that logs `kib` KiB into <dir>/log as the shim does, then exits; resolves with its exit code. */
function logAndExit(dir: string, kib: number): Promise<number | null> {
  const script = `
    const { openShimLog } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'shim', 'log'))});
    const { logger } = openShimLog(${JSON.stringify(dir)}, { id: 'c', namespace: 'ns' }, true);
    const line = 'x'.repeat(1000);
    for (let i = 0; i < ${kib}; i++) logger.debug({ i }, line);
    process.exit(0);`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    child.on('exit', (code) => resolve(code));
  });
}

describe('shim log', () => {
  let dir: string;
  before(() => {
    dir = tempDir('shim-log');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('exits at once when the FIFO is full and nobody reads it', async () => {
    const d = fs.mkdtempSync(path.join(dir, 'full-'));
    native().mkfifo(path.join(d, 'log'), 0o600);
    const reader = fs.openSync(path.join(d, 'log'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK); // never read
    try {
      assert.equal(await logAndExit(d, 500), 0); // ~500 kB into a 64 kB FIFO; hung before the fix
    } finally {
      fs.closeSync(reader);
    }
  });

  it('exits at once when the reader went away after the log was opened (EPIPE)', async () => {
    const d = fs.mkdtempSync(path.join(dir, 'gone-'));
    native().mkfifo(path.join(d, 'log'), 0o600);
    const reader = fs.openSync(path.join(d, 'log'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    // the child opens the FIFO while the reader exists, then the reader closes mid-way:
    // emulate by closing it as soon as the child has started writing (bounded wait on the FIFO filling)
    const exited = logAndExit(d, 2000);
    for (let i = 0; i < 400; i++) {
      let n = 0;
      try {
        n = fs.readSync(reader, Buffer.alloc(1), 0, 1, null);
      } catch {
        // EAGAIN: nothing written yet
      }
      if (n > 0) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    fs.closeSync(reader);
    assert.equal(await exited, 0);
  });

  it('logs nothing, and never blocks, without a FIFO', () => {
    const { logger } = openShimLog(path.join(dir, 'nowhere'), { id: 'c', namespace: 'ns' }, true);
    logger.info('dropped');
  });
});
