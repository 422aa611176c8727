/**
 * Our event publisher against the real containerd 1.6: events forwarded over its
 * ttrpc socket show up in `ctr events`, decoded, in order, in our namespace.
 */
import assert = require('node:assert/strict');
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';

import { EventPublisher } from '../../shim/events';
import { toTimestamp } from '../../shim/timestamp';
import { startContainerd, type Containerd } from '../fixtures/containerd';
import { containerId, isRoot, RUN_ID } from '../fixtures/env';
import { OutputLines } from '../fixtures/shim';

describe('events to containerd 1.6', { skip: !isRoot() && 'needs root to run containerd' }, () => {
  let cd: Containerd;
  let watcher: ChildProcess;
  let lines: OutputLines;
  const namespace = `hutch-${RUN_ID}`;

  before(async () => {
    cd = await startContainerd('shim-events');
    watcher = spawn('ctr', ['-a', cd.address, 'events'], { stdio: ['ignore', 'pipe', 'inherit'] });
    lines = new OutputLines(watcher.stdout!);
  });

  after(async () => {
    watcher?.kill('SIGTERM');
    await cd?.stop();
  });

  it('publishes TaskOOM and TaskExit that ctr events shows, in order', async () => {
    const publisher = new EventPublisher({ address: cd.ttrpcAddress, namespace });
    try {
      // ctr subscribes asynchronously: probe until an event of ours comes through
      let subscribed = false;
      for (let attempt = 0; attempt < 100 && !subscribed; attempt++) {
        assert.equal(await publisher.publish('/tasks/oom', { containerId: `probe-${attempt}` }), true);
        subscribed = (await lines.find((l) => l.includes('probe-'), 200)) >= 0;
      }
      assert.ok(subscribed, 'ctr events never showed a probe event');

      const id = containerId('events');
      const oom = publisher.publish('/tasks/oom', { containerId: id });
      const exit = publisher.publish('/tasks/exit', { containerId: id, id, pid: 4242, exitStatus: 137, exitedAt: toTimestamp() });
      assert.deepEqual(await Promise.all([oom, exit]), [true, true]);

      const oomAt = await lines.find((l) => l.includes('/tasks/oom') && l.includes(id), 10_000);
      const exitAt = await lines.find((l) => l.includes('/tasks/exit') && l.includes(id), 10_000);
      assert.ok(oomAt >= 0, `no /tasks/oom line for ${id}:\n${lines.lines.join('\n')}`);
      assert.ok(exitAt > oomAt, 'TaskExit must follow TaskOOM');
      const exitLine = lines.lines[exitAt];
      assert.ok(exitLine.includes(` ${namespace} `), exitLine);
      assert.match(exitLine, /"pid":4242/);
      assert.match(exitLine, /"exit_status":137/);
    } finally {
      await publisher.close();
    }
  });
});
