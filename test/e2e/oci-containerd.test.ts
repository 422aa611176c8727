/**
 * containerd 1.6's own runc shim (io.containerd.runc.v2) with hutch as its runc
 * (`BinaryName`, which `ctr run --runc-binary` sets): a private containerd, an OCI
 * image archive of busybox imported with ctr, then ctr run, task exec, kill, delete.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HUTCH_BIN, RUN_ID, tempDir } from '../fixtures/env';
import { busyboxImage } from '../fixtures/oci-image';
import { CONTAINERD, Containerd, CTR, removeParentCgroup, waitUntil, type Run } from '../fixtures/peers';

const available = fs.existsSync(CONTAINERD) && fs.existsSync(CTR);
const work = tempDir('oci-containerd');
const namespace = `hutch-${RUN_ID}`;
const image = `docker.io/library/hutch-busybox:${RUN_ID}`;
const daemon = new Containerd(path.join(work, 'c'));
/** the shim's runc root, ours instead of /run/containerd/runc */
const runcRoot = path.join(work, 'runc-root');
let n = 0;

function ctr(args: string[]): Run {
  return daemon.ctr(['--namespace', namespace, ...args]);
}

/** ctr run with the runc shim driving hutch */
function ctrRun(args: string[]): Run {
  return ctr(['run', '--runtime', 'io.containerd.runc.v2', '--runc-binary', HUTCH_BIN, '--runc-root', runcRoot, ...args]);
}

function taskStatus(id: string): string {
  const line = ctr(['task', 'ls']).stdout.split('\n').find((l) => l.startsWith(`${id} `));
  return line ? line.trim().split(/\s+/)[2] : 'gone';
}

describe("containerd's runc shim with BinaryName = hutch", { skip: !available && 'containerd 1.6 is not installed' }, () => {
  before(async () => {
    fs.mkdirSync(daemon.dir, { recursive: true });
    await daemon.start();
    const img = busyboxImage(path.join(work, 'image'), image);
    const imported = ctr(['image', 'import', img.ociArchive]);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(ctr(['image', 'ls', '-q']).stdout, new RegExp(image.replace(/[.:]/g, '\\$&')));
  });

  after(async () => {
    // shims outlive containerd: end every task first
    for (const line of ctr(['task', 'ls', '-q']).stdout.split('\n').filter(Boolean)) {
      ctr(['task', 'kill', '-s', 'SIGKILL', line]);
      ctr(['task', 'delete', '-f', line]);
    }
    for (const c of ctr(['container', 'ls', '-q']).stdout.split('\n').filter(Boolean)) ctr(['container', 'delete', c]);
    ctr(['image', 'rm', image]);
    await daemon.stop();
    // the shim's cgroupsPath is /<namespace>/<id>: the namespace's parent cgroup is ours
    removeParentCgroup(namespace);
  });

  it('ctr run --rm: output and exit status, through hutch', () => {
    const id = `c${RUN_ID}-${n++}`;
    const r = ctrRun(['--rm', image, id, 'sh', '-c', 'echo hello from ctr; id -u; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'hello from ctr\n0\n');
    assert.equal(ctr(['container', 'ls', '-q']).stdout.includes(id), false, '--rm removed it');
  });

  it('run -d, task exec, kill, delete', async () => {
    const id = `c${RUN_ID}-${n++}`;
    const started = ctrRun(['-d', image, id, 'sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']);
    assert.equal(started.code, 0, started.stderr);
    await waitUntil('the task to run', () => taskStatus(id) === 'RUNNING');
    const state = JSON.parse(fs.readFileSync(path.join(runcRoot, namespace, id, 'state.json'), 'utf8'));
    assert.equal(state.version, 1, "hutch's state record: hutch is the shim's runc");
    const e = ctr(['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo in exec; cat /proc/1/cmdline | tr "\\0" " "']);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /^in exec\nsh -c trap "exit 7" TERM/);
    assert.equal(ctr(['task', 'exec', '--exec-id', 'e2', id, 'sh', '-c', 'exit 4']).code, 4);
    const asUser = ctr(['task', 'exec', '--exec-id', 'e3', '--user', '1000', id, 'id', '-u']);
    assert.equal(asUser.stdout, '1000\n');
    const missing = ctr(['task', 'exec', '--exec-id', 'e4', id, 'no-such-program']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /OCI runtime exec failed: .*executable file not found in \$PATH/);
    const pids = ctr(['task', 'ps', id]); // runs `hutch ps --format json`
    assert.equal(pids.code, 0, pids.stderr);
    assert.match(pids.stdout, new RegExp(`^${JSON.parse(fs.readFileSync(path.join(runcRoot, namespace, id, 'state.json'), 'utf8')).pid}\\s`, 'm'), 'the init is among the pids');
    assert.equal(ctr(['task', 'kill', id]).code, 0, 'SIGTERM');
    await waitUntil('the task to stop', () => taskStatus(id) === 'STOPPED');
    const deleted = ctr(['task', 'delete', id]);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout + deleted.stderr, /exit code 7/, 'the trap ran: SIGTERM reached it');
    assert.equal(fs.existsSync(path.join(runcRoot, namespace, id)), false, 'hutch delete removed its state');
    assert.equal(ctr(['container', 'delete', id]).code, 0);
  });

  it('kill -s SIGKILL and delete of a running task, and a program that does not exist', async () => {
    const id = `c${RUN_ID}-${n++}`;
    assert.equal(ctrRun(['-d', image, id, 'sleep', '1000']).code, 0);
    await waitUntil('the task to run', () => taskStatus(id) === 'RUNNING');
    assert.equal(ctr(['task', 'kill', '-s', 'SIGKILL', id]).code, 0);
    await waitUntil('the task to stop', () => taskStatus(id) === 'STOPPED');
    assert.equal(ctr(['task', 'delete', id]).code, 0);
    assert.equal(ctr(['container', 'delete', id]).code, 0);
    const bad = `c${RUN_ID}-${n++}`;
    const r = ctrRun(['--rm', image, bad, 'no-such-program']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /OCI runtime create failed: .*executable file not found in \$PATH/, 'the error hutch logged as JSON reaches the user');
    ctr(['container', 'delete', bad]);
  });
});
