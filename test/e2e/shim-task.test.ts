/**
 * containerd 1.6 runs containers through containerd-shim-hutch-v2, the shim calling
 * runtime/ in-process: output and exit statuses, kill and delete, pause and resume,
 * 20 containers at once, a shim killed under a running container, large output —
 * each leaving no shim, socket, mount, cgroup or process behind.
 */
import assert = require('node:assert/strict');
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { makeRootfs } from '../fixtures/busybox';
import { startContainerd, type Containerd } from '../fixtures/containerd';
import { isRoot, REPO_ROOT, RUN_ID, tempDir } from '../fixtures/env';
import { describeShim, eventually, killPid, parentCgroupsOf, shimProcesses } from '../fixtures/shim';

const RUNTIME = 'io.containerd.hutch.v2';
/** --rootfs gives no image config: PATH is ours to set (runc fails the same way without it) */
const PATH_ENV = 'PATH=/usr/sbin:/usr/bin:/sbin:/bin';

describe('containerd 1.6 with containerd-shim-hutch-v2', { skip: !isRoot() && 'needs root to run containerd' }, () => {
  let cd: Containerd;
  let work: string;
  let rootfs: string;
  let shimRoot: string;
  let socketDir: string;
  const ns = `hutch-${RUN_ID}`;
  let n = 0;
  const id = (name: string): string => `s${RUN_ID}-${name}-${n++}`;

  const ctr = (args: string[], allowFail = false) => cd.ctr(['-n', ns, ...args], { allowFail, timeoutMs: 120_000 });
  const run = (name: string, args: string[], extra: string[] = []) =>
    ctr(['run', '--rm', '--runtime', RUNTIME, '--env', PATH_ENV, ...extra, '--rootfs', rootfs, id(name), ...args], true);
  const taskStatus = (cid: string): string => {
    const line = ctr(['task', 'ls']).stdout.split('\n').find((l) => l.startsWith(`${cid} `));
    return line ? line.trim().split(/\s+/)[2] : 'absent';
  };
  /** Nothing of container `cid` left: runtime state, cgroup, processes. */
  const leftovers = (cid: string): string[] => {
    const found: string[] = [];
    if (fs.existsSync(path.join(shimRoot, ns, cid))) found.push('runtime state');
    for (const h of fs.readdirSync('/sys/fs/cgroup')) if (fs.existsSync(path.join('/sys/fs/cgroup', h, 'hutch', cid))) found.push(`cgroup ${h}`);
    for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        if (fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8').includes(`/${cid}\n`)) found.push(`process ${pid}`);
      } catch {
        // gone
      }
    }
    return found;
  };

  let removeParentCgroups = (): void => undefined;

  before(async () => {
    removeParentCgroups = parentCgroupsOf(ns);
    work = tempDir('shim-task');
    rootfs = path.join(work, 'rootfs');
    makeRootfs(rootfs);
    shimRoot = path.join(work, 'run-hutch');
    socketDir = tempDir('shim-s');
    cd = await startContainerd('shim-task', {
      pathPrefix: [path.join(REPO_ROOT, 'bin')],
      env: { HUTCH_SHIM_SOCKET_DIR: socketDir, HUTCH_SHIM_ROOT: shimRoot },
    });
  });

  after(async () => {
    for (const pid of shimProcesses(`-namespace ${ns} `)) killPid(pid, 9);
    if (cd) {
      cd.removeAll(ns);
      await cd.stop();
    }
    fs.rmSync(socketDir, { recursive: true, force: true });
    removeParentCgroups();
  });

  it('prints output and returns exit statuses 0 and 1', () => {
    const ok = run('out', ['sh', '-c', 'echo hello from the container; echo to stderr >&2']);
    assert.equal(ok.status, 0, ok.stderr);
    assert.equal(ok.stdout, 'hello from the container\n');
    assert.match(ok.stderr, /^to stderr$/m, "the container's stderr reaches ctr's");
    const one = run('one', ['sh', '-c', 'exit 1']);
    assert.equal(one.status, 1);
  });

  it('reports 137 for a container killed with SIGKILL, then deletes it', async () => {
    const cid = id('kill');
    const fg = spawn('ctr', ['-a', cd.address, '-n', ns, 'run', '--rm', '--runtime', RUNTIME, '--env', PATH_ENV, '--rootfs', rootfs, cid, 'sleep', '1000'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((r) => fg.on('exit', (code) => r(code)));
    assert.ok(await eventually(() => taskStatus(cid) === 'RUNNING'), 'task running');
    ctr(['task', 'kill', '-s', 'SIGKILL', cid]);
    assert.equal(await exited, 137);
    assert.ok(await eventually(() => leftovers(cid).length === 0), leftovers(cid).join(', '));
  });

  it('detaches, kills, pauses, resumes and deletes a task', async () => {
    const cid = id('life');
    ctr(['run', '-d', '--runtime', RUNTIME, '--env', PATH_ENV, '--rootfs', rootfs, cid, 'sh', '-c', 'while :; do sleep 0.1; done']);
    assert.equal(taskStatus(cid), 'RUNNING');
    ctr(['task', 'pause', cid]);
    assert.equal(taskStatus(cid), 'PAUSED');
    ctr(['task', 'resume', cid]);
    assert.equal(taskStatus(cid), 'RUNNING');
    const pids = ctr(['task', 'ps', cid]).stdout;
    assert.match(pids, /^\d+\s/m);
    ctr(['task', 'kill', cid]); // SIGTERM: sh as pid 1 has no handler and ignores it
    ctr(['task', 'kill', '-s', 'SIGKILL', cid]);
    assert.ok(await eventually(() => taskStatus(cid) === 'STOPPED'), `status ${taskStatus(cid)}`);
    ctr(['task', 'delete', cid]);
    ctr(['containers', 'rm', cid]);
    assert.ok(await eventually(() => leftovers(cid).length === 0), leftovers(cid).join(', '));
  });

  it('runs 20 containers at once and removes them all, leaving nothing', async () => {
    const ids = Array.from({ length: 20 }, () => id('many'));
    await Promise.all(
      ids.map(
        (cid) =>
          new Promise<void>((resolve, reject) => {
            const p = spawn('ctr', ['-a', cd.address, '-n', ns, 'run', '-d', '--runtime', RUNTIME, '--env', PATH_ENV, '--rootfs', rootfs, cid, 'sleep', '1000'], { stdio: ['ignore', 'ignore', 'pipe'] });
            let err = '';
            p.stderr.on('data', (d: Buffer) => (err += d));
            p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cid}: ${err}`))));
          }),
      ),
    );
    for (const cid of ids) assert.equal(taskStatus(cid), 'RUNNING', cid);
    await Promise.all(
      ids.map(
        (cid) =>
          new Promise<void>((resolve) => {
            const p = spawn('sh', ['-c', `ctr -a ${cd.address} -n ${ns} task kill -s KILL ${cid}; ctr -a ${cd.address} -n ${ns} task delete ${cid}; ctr -a ${cd.address} -n ${ns} containers rm ${cid}`], { stdio: 'ignore' });
            p.on('exit', () => resolve());
          }),
      ),
    );
    assert.ok(await eventually(() => ids.every((cid) => leftovers(cid).length === 0)), ids.flatMap(leftovers).join(', '));
    const shimsLeft = (): string =>
      shimProcesses(`-namespace ${ns} `)
        .map((p) => describeShim(p, cd.log()))
        .join('\n');
    assert.ok(await eventually(() => shimProcesses(`-namespace ${ns} `).length === 0), `no shim left:\n${shimsLeft()}`);
    assert.ok(await eventually(() => fs.readdirSync(socketDir).length === 0), 'no socket left');
  });

  it('reports a task as exited when its shim is killed, and cleans up after it', async () => {
    const cid = id('shimkill');
    ctr(['run', '-d', '--runtime', RUNTIME, '--env', PATH_ENV, '--rootfs', rootfs, cid, 'sleep', '1000']);
    const shims = shimProcesses(` -id ${cid} `);
    assert.equal(shims.length, 1);
    killPid(shims[0], 9);
    assert.ok(await eventually(() => taskStatus(cid) !== 'RUNNING'), `status ${taskStatus(cid)}`);
    ctr(['task', 'delete', cid], true);
    ctr(['containers', 'rm', cid]);
    assert.ok(await eventually(() => leftovers(cid).length === 0), leftovers(cid).join(', '));
  });

  it("hands output to a logging binary (--log-uri binary://) and to a file (file://), as containerd's runc shim does", async () => {
    const logs = tempDir('shim-logs');
    const logger = path.join(logs, 'logger');
    // the binary's contract: stdout on fd 3, stderr on fd 4, ready by a byte on fd 5; no PATH
    fs.writeFileSync(
      logger,
      [
        '#!/bin/sh',
        'dir="$2"',
        'echo "$CONTAINER_ID $CONTAINER_NAMESPACE $*" > "$dir/args"',
        '/bin/cat <&3 > "$dir/stdout" 5>&- &',
        '/bin/cat <&4 > "$dir/stderr" 5>&- &',
        'printf x >&5',
        'exec 3<&- 4<&- 5>&-',
        'wait',
      ].join('\n') + '\n',
      { mode: 0o755 },
    );
    const cid = id('logbin');
    const r = ctr(['run', '--rm', '--runtime', RUNTIME, '--env', PATH_ENV, '--log-uri', `binary://${logger}?dir=${logs}`, '--rootfs', rootfs, cid, 'sh', '-c', 'echo to stdout; echo to stderr >&2; exit 3'], true);
    assert.equal(r.status, 3, r.stderr);
    assert.equal(r.stdout, '', 'the output went to the logger, not to ctr');
    assert.equal(fs.readFileSync(path.join(logs, 'args'), 'utf8'), `${cid} ${ns} dir ${logs}\n`);
    const logged = (stream: string): string => (fs.existsSync(path.join(logs, stream)) ? fs.readFileSync(path.join(logs, stream), 'utf8') : '');
    // the logger may still be copying when ctr returns
    assert.ok(await eventually(() => logged('stdout') === 'to stdout\n' && logged('stderr') === 'to stderr\n'), `logged: ${JSON.stringify([logged('stdout'), logged('stderr')])}`);
    const loggers = (): string[] =>
      fs.readdirSync('/proc').filter((pid) => {
        try {
          return /^\d+$/.test(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(logger);
        } catch {
          return false;
        }
      });
    assert.ok(await eventually(() => loggers().length === 0), `the logger has ended (${loggers().join(', ')})`);
    assert.deepEqual(leftovers(cid), []);

    const file = path.join(logs, 'made', 'by', 'the-shim.log');
    const f = ctr(['run', '--rm', '--runtime', RUNTIME, '--env', PATH_ENV, '--log-uri', `file://${file}`, '--rootfs', rootfs, id('logfile'), 'sh', '-c', 'echo one; echo two >&2'], true);
    assert.equal(f.status, 0, f.stderr);
    assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).sort(), ['one', 'two'], 'both streams appended to the file');

    const missing = id('logmissing');
    const bad = ctr(['run', '--rm', '--runtime', RUNTIME, '--env', PATH_ENV, '--log-uri', `binary://${path.join(logs, 'no-such-logger')}`, '--rootfs', rootfs, missing, 'true'], true);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /no-such-logger.*start the logging binary: spawn .* ENOENT/);
    ctr(['containers', 'rm', missing], true);
    assert.deepEqual(leftovers(missing), []);
  });

  it('delivers large output complete', () => {
    const cid = id('big');
    const bytes = 300 * 1024 * 1024;
    const r = spawnSync('sh', ['-c', `ctr -a ${cd.address} -n ${ns} run --rm --runtime ${RUNTIME} --env ${PATH_ENV} --rootfs ${rootfs} ${cid} sh -c 'head -c ${bytes} /dev/zero' | wc -c`], {
      encoding: 'utf8',
      timeout: 300_000,
    });
    assert.equal(r.stdout.trim(), String(bytes), r.stderr);
  });
});
