/**
 * The serving shim's log into containerd's `log` FIFO: it must never keep the shim
 * alive or block it. Regression: a FIFO whose reader stopped reading (containerd stops
 * at the first container's disconnect) made the exit's flush retry EAGAIN forever, and
 * the shim never exited after Shutdown.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { native } from '../../addon';
import { openShimLog } from '../../shim/log';
import { tempDir } from '../fixtures/env';

describe('shim log', () => {
  let dir: string;
  before(() => {
    dir = tempDir('shim-log');
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('flushes in one pass when the FIFO is full and nobody reads it (exit is not held up)', () => {
    native().mkfifo(path.join(dir, 'log'), 0o600);
    // a reader that never reads: the FIFO fills up, writes get EAGAIN
    const reader = fs.openSync(path.join(dir, 'log'), fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    try {
      const { logger, flush } = openShimLog(dir, { id: 'c', namespace: 'ns' }, true);
      const line = 'x'.repeat(1000);
      for (let i = 0; i < 500; i++) logger.debug({ i }, line); // ~500 kB, far over the FIFO's 64 kB
      flush(); // returns (the test would hang here before the fix)
      const st = fs.fstatSync(reader);
      assert.ok(st.isFIFO());
    } finally {
      fs.closeSync(reader);
    }
  });

  it('logs nothing, and never blocks, without a FIFO or a reader', () => {
    const { logger, flush } = openShimLog(path.join(dir, 'nowhere'), { id: 'c', namespace: 'ns' }, true);
    logger.info('dropped');
    flush();
  });
});
