/**
 * containerd 1.6 with containerd-shim-hutch-v2 and images: a busybox image built here
 * and brought in with `ctr image import`, run from containerd's overlay snapshot (the
 * rootfs arrives as CreateTaskRequest mounts). `ctr task exec` without and with a
 * terminal (ctr driven through a pty of `script`), the execs' exit statuses, terminal
 * size and stdin, `ctr run -t`, and the events `ctr events` shows for all of it, in
 * the order containerd requires.
 */
import assert = require('node:assert/strict');
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Containerd } from '../fixtures/containerd';
import { isRoot, RUN_ID } from '../fixtures/env';
import { describeShim, eventually, mountsUnder, processesInCgroupOf, shimProcesses } from '../fixtures/shim';
import { startShimContainerd, type ShimContainerd } from '../fixtures/shim-containerd';

const RUNTIME = 'io.containerd.hutch.v2';
const IMAGE = `hutch.test/busybox:${RUN_ID}`;

/** Runs `command` (a shell line) with a pty as its terminal, as a person at a terminal would; returns what the terminal showed. */
function onTerminal(command: string, input = ''): { status: number; screen: string } {
  const r = spawnSync('script', ['-qfec', command, '/dev/null'], { input, encoding: 'utf8', timeout: 120_000 });
  // script passes its stdin's end on as the terminal's EOF character, which ctr's raw
  // terminal has as NUL: the container's terminal echoes it as "^@"
  return { status: r.status ?? -1, screen: (r.stdout ?? '').replace(/\r/g, '').replace(/\^@|\0/g, '') };
}

describe('containerd 1.6 with containerd-shim-hutch-v2: images, exec, terminals, events', { skip: !isRoot() && 'needs root to run containerd' }, () => {
  let peer: ShimContainerd;
  let cd: Containerd;
  let socketDir: string;
  let shimRoot: string;
  const ns = `hutch-exec-${RUN_ID}`;
  let n = 0;
  const id = (name: string): string => `x${RUN_ID}-${name}-${n++}`;
  const ctrArgs = (args: string[]): string[] => ['-a', cd.address, '-n', ns, ...args];
  const ctr = (args: string[], allowFail = false) => peer.ctr(args, allowFail);
  const shellQuote = (args: string[]): string => args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');

  /** The events of one container (topic and JSON body), in the order ctr events printed them. */
  const eventsOf = (cid: string): { topic: string; body: Record<string, unknown> }[] =>
    peer.events.lines
      .map((l) => /^\S+ \S+ \S+ (\S+) (\/tasks\/\S+) (\{.*\})$/.exec(l) ?? /\s(\/tasks\/\S+)\s+(\{.*\})$/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ topic: m[m.length - 2], body: JSON.parse(m[m.length - 1]) as Record<string, unknown> }))
      .filter((e) => e.body.container_id === cid);

  before(async () => {
    peer = await startShimContainerd('shim-exec', ns, IMAGE);
    ({ cd, socketDir, shimRoot } = peer);
  });

  after(async () => {
    await peer?.stop();
  });

  it('runs an imported image from its overlay snapshot', () => {
    const cid = id('image');
    const r = ctr(['run', '--rm', '--runtime', RUNTIME, IMAGE, cid, 'sh', '-c', 'cat /etc/passwd | head -1; grep " / " /proc/mounts | cut -d" " -f3'], true);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'root:x:0:0:root:/root:/bin/sh\noverlay\n');
  });

  describe('a running container', () => {
    let cid: string;
    before(() => {
      cid = id('exec');
      ctr(['run', '-d', '--runtime', RUNTIME, IMAGE, cid, 'sleep', '100000']);
    });
    after(() => {
      ctr(['task', 'kill', '-s', 'KILL', cid], true);
    });

    it('execs without a terminal: output, stdin and exit statuses 0, 3 and 137', () => {
      const out = ctr(['task', 'exec', '--exec-id', 'plain', cid, 'sh', '-c', 'echo out; echo err >&2; cat /proc/1/cmdline | tr "\\0" " "'], true);
      assert.equal(out.status, 0, out.stderr);
      assert.equal(out.stdout, 'out\nsleep 100000 ');
      assert.match(out.stderr, /^err$/m);
      const withInput = spawnSync('ctr', ctrArgs(['task', 'exec', '--exec-id', 'stdin', cid, 'sh', '-c', 'tr a-z A-Z']), { input: 'piped text\n', encoding: 'utf8', timeout: 60_000 });
      assert.equal(withInput.stdout, 'PIPED TEXT\n', withInput.stderr);
      assert.equal(ctr(['task', 'exec', '--exec-id', 'three', cid, 'sh', '-c', 'exit 3'], true).status, 3);
      assert.equal(ctr(['task', 'exec', '--exec-id', 'killed', cid, 'sh', '-c', 'kill -9 $$'], true).status, 137);
    });

    it('execs with a terminal: a tty, its size from ctr, stdin typed in, exit status', () => {
      const exec = (execId: string, args: string[]): string => `ctr ${shellQuote(ctrArgs(['task', 'exec', '-t', '--exec-id', execId, cid, ...args]))}`;
      // ctr sends the size (ResizePty) once the process started: ask until it is there (bounded)
      const size = 'for i in $(seq 100); do s=$(stty size 2>/dev/null); [ -n "$s" ] && [ "$s" != "0 0" ] && break; sleep 0.05; done; echo "$s"';
      const tty = onTerminal(`stty cols 91 rows 37; ${exec('tty1', ['sh', '-c', `tty; ${size}; echo done`])}`);
      assert.equal(tty.status, 0, tty.screen);
      assert.match(tty.screen, /^\/dev\/pts\/\d+$/m);
      assert.match(tty.screen, /^37 91$/m, 'ResizePty gave the pty ctr’s size');
      assert.match(tty.screen, /^done$/m);
      const typed = onTerminal(exec('tty2', ['sh', '-c', 'read line; echo "got [$line]"; exit 5']), 'hello tty\n');
      assert.equal(typed.status, 5, typed.screen);
      assert.match(typed.screen, /got \[hello tty\]/);
    });

    it('reports exec-added, exec-started, then exit for every exec, and the exec exit statuses', async () => {
      ctr(['task', 'exec', '--exec-id', 'ordered', cid, 'true']);
      assert.ok(await eventually(() => eventsOf(cid).some((e) => e.topic === '/tasks/exit' && e.body.id === 'ordered')), 'exit event of exec "ordered"');
      for (const execId of ['plain', 'three', 'killed', 'tty1', 'tty2', 'ordered']) {
        const mine = eventsOf(cid).filter((e) => e.body.exec_id === execId || e.body.id === execId);
        assert.deepEqual(
          mine.map((e) => e.topic),
          ['/tasks/exec-added', '/tasks/exec-started', '/tasks/exit'],
          `events of exec ${execId}: ${JSON.stringify(mine)}`,
        );
        assert.equal(mine[1].body.pid, mine[2].body.pid);
      }
      const status = (execId: string): unknown => eventsOf(cid).find((e) => e.topic === '/tasks/exit' && e.body.id === execId)?.body.exit_status;
      assert.deepEqual([status('plain'), status('three'), status('killed'), status('tty2')], [undefined, 3, 137, 5]); // 0 is left out of the JSON
    });
  });

  it('runs with a terminal (ctr run -t) and reports create, start, exit, delete in order', async () => {
    const cid = id('tty');
    const r = onTerminal(`ctr ${shellQuote(ctrArgs(['run', '--rm', '-t', '--runtime', RUNTIME, IMAGE, cid, 'sh', '-c', 'tty; echo bye; exit 4']))}`);
    assert.equal(r.status, 4, r.screen);
    assert.match(r.screen, /^\/dev\/pts\/\d+$/m);
    assert.match(r.screen, /^bye$/m);
    assert.ok(await eventually(() => eventsOf(cid).some((e) => e.topic === '/tasks/delete')), 'delete event');
    assert.deepEqual(
      eventsOf(cid).map((e) => e.topic),
      ['/tasks/create', '/tasks/start', '/tasks/exit', '/tasks/delete'],
    );
    assert.equal(eventsOf(cid)[2].body.exit_status, 4);
  });

  it('leaves nothing behind once the containers are gone', async () => {
    for (const cid of ctr(['task', 'ls', '-q'], true).stdout.split('\n').filter(Boolean)) {
      ctr(['task', 'kill', '-s', 'KILL', cid], true);
      await eventually(() => !ctr(['task', 'ls'], true).stdout.includes(`${cid} `) || /STOPPED/.test(ctr(['task', 'ls'], true).stdout));
      ctr(['task', 'delete', cid], true);
    }
    const containers = ctr(['containers', 'ls', '-q'], true).stdout.split('\n').filter(Boolean);
    for (const cid of containers) ctr(['containers', 'rm', cid], true);
    const left = (): string[] => [
      ...shimProcesses(`-namespace ${ns} `).map((p) => `shim ${p}`),
      ...containers.flatMap((cid) => processesInCgroupOf(cid).map((p) => `process ${p}`)),
      ...(fs.existsSync(path.join(shimRoot, ns)) ? fs.readdirSync(path.join(shimRoot, ns)).map((d) => `state ${d}`) : []),
      ...mountsUnder(cd.dir).map((m) => `mount ${m}`),
      ...fs.readdirSync(socketDir).map((s) => `socket ${s}`),
    ];
    const why = (): string =>
      shimProcesses(`-namespace ${ns} `)
        .map((p) => describeShim(p, cd.log()))
        .join('\n');
    assert.ok(await eventually(() => left().length === 0), `${left().join(', ')}\n${why()}`);
  });
});
