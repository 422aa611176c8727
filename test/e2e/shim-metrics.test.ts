/**
 * What containerd 1.6 learns from containerd-shim-hutch-v2's cgroup side: `ctr task
 * metrics` (Stats: the cgroup's Metrics as containerd decodes them), `ctr events` with
 * the whole life of a task (create, start, paused, resumed, exit, delete), and a
 * TaskOOM for a container that outgrows its memory limit, killed by the kernel with
 * exit status 137.
 */
import assert = require('node:assert/strict');
import { after, before, describe, it } from 'node:test';

import { isRoot, RUN_ID } from '../fixtures/env';
import { eventually } from '../fixtures/shim';
import { startShimContainerd, type ShimContainerd } from '../fixtures/shim-containerd';

const RUNTIME = 'io.containerd.hutch.v2';
const IMAGE = `hutch.test/busybox:${RUN_ID}`;
const LIMIT = 64 * 1024 * 1024;

describe('containerd 1.6 with containerd-shim-hutch-v2: metrics, task events, OOM', { skip: !isRoot() && 'needs root to run containerd' }, () => {
  let peer: ShimContainerd;
  const ns = `hutch-metrics-${RUN_ID}`;
  let n = 0;
  const id = (name: string): string => `m${RUN_ID}-${name}-${n++}`;
  const ctr = (args: string[], allowFail = false) => peer.ctr(args, allowFail);
  /** topics of one container's events, in the order ctr events printed them */
  const topicsOf = (cid: string): string[] =>
    peer.events.lines.filter((l) => l.includes(`"container_id":"${cid}"`)).map((l) => /\s(\/tasks\/\S+)\s/.exec(l)?.[1] ?? '?');

  before(async () => {
    peer = await startShimContainerd('shim-metrics', ns, IMAGE);
  });

  after(async () => {
    await peer?.stop();
  });

  it('ctr task metrics shows the cgroup: memory use under the limit, pids', () => {
    const cid = id('metrics');
    ctr(['run', '-d', '--runtime', RUNTIME, '--memory-limit', String(LIMIT), IMAGE, cid, 'sh', '-c', 'sleep 100000 & sleep 100000; true']);
    const table = ctr(['task', 'metrics', cid]).stdout;
    // ctr's table names v1 and v2 (unified hierarchy) metrics differently
    const value = (...keys: string[]): number => {
      for (const key of keys) {
        const m = new RegExp(`^${key.replace(/\./g, '\\.')}\\s+(\\d+)`, 'm').exec(table);
        if (m) return Number(m[1]);
      }
      return NaN;
    };
    assert.ok(value('memory.usage_in_bytes', 'memory.usage') > 0, table);
    assert.equal(value('memory.limit_in_bytes', 'memory.usage_limit'), LIMIT, table);
    assert.equal(value('pids.current'), 3, `sh and its two sleeps:\n${table}`);
    ctr(['task', 'kill', '-s', 'KILL', cid]);
  });

  it('ctr events shows create, start, paused, resumed, exit and delete, in order', async () => {
    const cid = id('life');
    ctr(['run', '-d', '--runtime', RUNTIME, IMAGE, cid, 'sleep', '100000']);
    ctr(['task', 'pause', cid]);
    ctr(['task', 'resume', cid]);
    ctr(['task', 'kill', '-s', 'KILL', cid]);
    assert.ok(await eventually(() => topicsOf(cid).includes('/tasks/exit')), topicsOf(cid).join(' '));
    ctr(['task', 'delete', cid]);
    assert.ok(await eventually(() => topicsOf(cid).includes('/tasks/delete')), topicsOf(cid).join(' '));
    assert.deepEqual(topicsOf(cid), ['/tasks/create', '/tasks/start', '/tasks/paused', '/tasks/resumed', '/tasks/exit', '/tasks/delete']);
    const exit = peer.events.lines.find((l) => l.includes('/tasks/exit') && l.includes(cid)) ?? '';
    assert.match(exit, /"exit_status":137/);
    ctr(['containers', 'rm', cid]);
  });

  it('reports TaskOOM for a container over its memory limit, and its exit as 137', async () => {
    const cid = id('oom');
    // the shell holds 256 MiB of command substitution in memory: four times the limit
    const r = ctr(['run', '--rm', '--runtime', RUNTIME, '--memory-limit', String(LIMIT), IMAGE, cid, 'sh', '-c', 'x="$(head -c 268435456 /dev/zero | tr "\\0" a)"; echo survived'], true);
    assert.equal(r.status, 137, `${r.stdout} ${r.stderr}`);
    assert.ok(await eventually(() => topicsOf(cid).includes('/tasks/delete')), topicsOf(cid).join(' '));
    const topics = topicsOf(cid);
    assert.ok(topics.includes('/tasks/oom'), topics.join(' '));
    assert.ok(topics.indexOf('/tasks/oom') < topics.indexOf('/tasks/delete'), topics.join(' '));
    assert.deepEqual(
      topics.filter((t) => t !== '/tasks/oom'),
      ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete'],
    );
  });
});
