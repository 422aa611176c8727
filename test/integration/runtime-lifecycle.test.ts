/**
 * The OCI lifecycle through the hutch CLI against busybox bundles: create → state →
 * start → kill → delete, runc's default config.json, exit codes, stdio, pid files.
 */
import assert = require('node:assert/strict');
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { makeBundle } from '../fixtures/busybox';
import { containerId, HUTCH_BIN, tempDir } from '../fixtures/env';
import { errorMessage, hutch, hutchAsync, leftovers, stateOf, waitForStatus } from '../fixtures/hutch';

const work = tempDir('lifecycle');
const root = path.join(work, 'state');

after(() => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) hutch(root, ['delete', '--force', id]);
});

describe('lifecycle', () => {
  it('create, state, start, kill, delete move through created, running, stopped', async () => {
    const id = containerId('life');
    const bundle = makeBundle(path.join(work, 'life'), ['sleep', '1000']);
    const pidFile = path.join(work, 'life.pid');
    const created = hutch(root, ['create', '--bundle', bundle, '--pid-file', pidFile, id]);
    assert.equal(created.code, 0, created.stderr);
    const s1 = stateOf(root, id);
    assert.equal(s1.status, 'created');
    assert.equal(s1.bundle, bundle);
    assert.equal(fs.readFileSync(pidFile, 'utf8'), String(s1.pid), 'pid file holds the init pid, no newline');
    // a created container's init is hutch-init waiting, not yet the user's program
    assert.notEqual(fs.readlinkSync(`/proc/${s1.pid}/exe`), '/bin/busybox');

    assert.equal(hutch(root, ['start', id]).code, 0);
    const s2 = stateOf(root, id);
    assert.equal(s2.status, 'running');
    assert.equal(fs.readFileSync(`/proc/${s2.pid}/cmdline`, 'utf8'), 'sleep\x001000\x00');
    const again = hutch(root, ['start', id]);
    assert.equal(again.code, 1);
    assert.match(errorMessage(again.stderr), /cannot start an already running container/);

    const list = hutch(root, ['list', '--format', 'json']);
    assert.ok((JSON.parse(list.stdout) as { id: string }[]).some((c) => c.id === id));
    assert.match(hutch(root, ['list']).stdout, new RegExp(`^${id}\\s+\\d+\\s+running`, 'm'));
    assert.equal(hutch(root, ['list', '-q']).stdout.trim().split('\n').includes(id), true);

    const refused = hutch(root, ['delete', id]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /not stopped: running/);

    assert.equal(hutch(root, ['kill', id, 'KILL']).code, 0);
    await waitForStatus(root, id, 'stopped', { tries: 200, pauseMs: 10 });
    assert.equal(stateOf(root, id).status, 'stopped');
    assert.equal(stateOf(root, id).pid, 0);
    const killStopped = hutch(root, ['kill', id, '9']);
    assert.equal(killStopped.code, 1);
    assert.match(killStopped.stderr, /container not running/);
    const startStopped = hutch(root, ['start', id]);
    assert.match(startStopped.stderr, /cannot start a container that has stopped/);

    assert.equal(hutch(root, ['delete', id]).code, 0);
    assert.deepEqual(leftovers(root, id, bundle), []);
    const gone = hutch(root, ['state', id]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /does not exist/);
    assert.equal(hutch(root, ['delete', '--force', id]).code, 0, 'delete --force of a missing container succeeds quietly');
  });

  it('deletes a created container and a running one with --force', () => {
    for (const [name, force] of [
      ['created', false],
      ['running', true],
    ] as const) {
      const id = containerId(`del-${name}`);
      const bundle = makeBundle(path.join(work, `del-${name}`), ['sleep', '1000']);
      assert.equal(hutch(root, ['create', '-b', bundle, id]).code, 0);
      if (name === 'running') assert.equal(hutch(root, ['start', id]).code, 0);
      const r = hutch(root, ['delete', ...(force ? ['--force'] : []), id]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(leftovers(root, id, bundle), []);
    }
  });

  it("runs runc's default config.json (terminal false) and returns the exit status", () => {
    const bundle = makeBundle(path.join(work, 'status'), ['sh', '-c', 'echo out; echo err >&2; exit 3']);
    const id = containerId('status');
    const r = hutch(root, ['run', id], { cwd: bundle });
    assert.equal(r.code, 3);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, 'err\n');
    assert.deepEqual(leftovers(root, id, bundle), []);
  });

  it('reports 128+N when the container is killed by a signal', async () => {
    const bundle = makeBundle(path.join(work, 'signal'), ['sleep', '1000']);
    const id = containerId('signal');
    const running = hutchAsync(root, ['run', id], { cwd: bundle });
    await waitForStatus(root, id, 'running', { tries: 500, pauseMs: 10, allowMissing: true });
    assert.equal(hutch(root, ['kill', id, 'SIGKILL']).code, 0);
    assert.equal((await running).code, 137);
    assert.deepEqual(leftovers(root, id, bundle), []);
  });

  it('forwards signals to the container in the foreground', async () => {
    const bundle = makeBundle(path.join(work, 'forward'), ['sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo trapped; while :; do sleep 0.05; done']);
    const id = containerId('forward');
    const child = require('node:child_process').spawn(HUTCH_BIN, ['--root', root, 'run', id], { cwd: bundle, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    // sh as PID 1 ignores SIGTERM until its trap is set: wait for it to say so (bounded)
    for (let i = 0; i < 1000 && !out.includes('trapped'); i++) await new Promise((r) => setTimeout(r, 10));
    assert.match(out, /trapped/, 'the container set its trap');
    child.kill('SIGTERM');
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 7);
    assert.match(out, /got TERM/);
  });

  it("hands create's stdio to the container, which outlives the create command", () => {
    const bundle = makeBundle(path.join(work, 'stdio'), ['sh', '-c', 'read line; echo "got $line"; echo to-err >&2']);
    const id = containerId('stdio');
    const out = path.join(work, 'stdio.out');
    const input = path.join(work, 'stdio.in');
    fs.writeFileSync(input, 'hello\n');
    const fdOut = fs.openSync(out, 'w');
    const fdIn = fs.openSync(input, 'r');
    const created = spawnSync(HUTCH_BIN, ['--root', root, 'create', '-b', bundle, id], { stdio: [fdIn, fdOut, fdOut] });
    fs.closeSync(fdOut);
    fs.closeSync(fdIn);
    assert.equal(created.status, 0);
    assert.equal(hutch(root, ['start', id]).code, 0);
    const pid = stateOf(root, id).pid;
    for (let i = 0; i < 500 && fs.existsSync(`/proc/${pid}`) && stateOf(root, id).status !== 'stopped'; i++) spawnSync('sleep', ['0.01']);
    assert.equal(fs.readFileSync(out, 'utf8'), 'got hello\nto-err\n');
    assert.equal(hutch(root, ['delete', id]).code, 0);
  });

  it('accepts every 1.x ociVersion and refuses 2.x and malformed versions', () => {
    for (const v of ['1.0.0', '1.0.2-dev', '1.1.0', '1.2.0', '1.2.1', '1.3.0']) {
      const bundle = makeBundle(path.join(work, `v${v}`), ['true'], (s) => (s.ociVersion = v));
      const r = hutch(root, ['run', containerId(`v${v.replace(/\W/g, '')}`)], { cwd: bundle });
      assert.equal(r.code, 0, `${v}: ${r.stderr}`);
    }
    for (const v of ['2.0.0', '0.9.0', 'abc', '1.0']) {
      const bundle = makeBundle(path.join(work, `bad${v}`), ['true'], (s) => (s.ociVersion = v));
      const r = hutch(root, ['run', containerId('badv')], { cwd: bundle });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ociVersion/);
    }
  });

  it('passes --preserve-fds to the container', () => {
    const bundle = makeBundle(path.join(work, 'fds'), ['sh', '-c', 'cat <&3']);
    const file = path.join(work, 'fds.txt');
    fs.writeFileSync(file, 'through fd 3\n');
    const fd = fs.openSync(file, 'r');
    const r = spawnSync(HUTCH_BIN, ['--root', root, 'run', '--preserve-fds', '1', containerId('fds')], {
      cwd: bundle,
      stdio: ['ignore', 'pipe', 'pipe', fd],
      encoding: 'utf8',
    });
    fs.closeSync(fd);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'through fd 3\n');
  });

  it("answers runc's checkpoint and restore with one line: no CRIU integration", () => {
    for (const args of [['checkpoint', '--image-path', work, 'some-id'], ['restore', '--image-path', work, '--bundle', work, '-d', 'some-id']]) {
      const r = hutch(root, args);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^time=.* level=error msg="${args[0]}: not supported: hutch has no CRIU integration"\\n$`));
    }
  });

  it('starts Node without NODE_EXTRA_CA_CERTS: no warning even when it names a missing file', () => {
    // Node would print "Warning: Ignoring extra certs from ..." before hutch ran a line
    const r = hutch(root, ['features'], { env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(work, 'no-such-ca.pem') } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  it('prints spec and features documents', () => {
    const dir = tempDir('spec');
    assert.equal(hutch(root, ['spec', '--bundle', dir]).code, 0);
    const spec = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8'));
    assert.deepEqual(spec.process.args, ['sh']);
    assert.match(hutch(root, ['spec', '--bundle', dir]).stderr, /exists/);
    const rootless = tempDir('spec-rootless');
    assert.equal(hutch(root, ['spec', '--rootless', '--bundle', rootless]).code, 0);
    const rs = JSON.parse(fs.readFileSync(path.join(rootless, 'config.json'), 'utf8'));
    assert.ok(rs.linux.namespaces.some((n: { type: string }) => n.type === 'user'));
    const features = JSON.parse(hutch(root, ['features']).stdout);
    assert.equal(features.ociVersionMin, '1.0.0');
    assert.ok(features.linux.seccomp.actions.includes('SCMP_ACT_NOTIFY'));
  });
});

describe('plugin choice through configuration and annotations', () => {
  it('runs a container with the no-op cgroup manager (io.hutch.cgroup=none), and refuses resources with it', () => {
    const id = containerId('nocg');
    const bundle = makeBundle(path.join(work, 'nocg'), ['sh', '-c', 'cat /proc/self/cgroup | grep -c hutch || true'], (s) => {
      s.annotations = { 'io.hutch.cgroup': 'none' };
      delete s.linux.resources;
    });
    const r = hutch(root, ['run', id], { cwd: bundle });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '0', 'the container is in no hutch cgroup');
    assert.deepEqual(leftovers(root, id, bundle), []);

    const limited = makeBundle(path.join(work, 'nocg-limit'), ['true'], (s) => {
      s.annotations = { 'io.hutch.cgroup': 'none' };
      s.linux.resources = { memory: { limit: 64 * 1024 * 1024 } };
    });
    const refused = hutch(root, ['run', containerId('nocg2')], { cwd: limited });
    assert.equal(refused.code, 1);
    assert.match(errorMessage(refused.stderr), /linux\.resources\.memory: the cgroup manager "none" applies no resources/);
  });

  it('takes the cgroup manager from the configuration file, and names a bad choice', () => {
    const config = path.join(work, 'cg-config.json');
    fs.writeFileSync(config, JSON.stringify({ cgroup: { use: 'none' } }));
    const bundle = makeBundle(path.join(work, 'cgcfg'), ['sleep', '100'], (s) => delete s.linux.resources);
    const id = containerId('cgcfg');
    assert.equal(hutch(root, ['--config', config, 'create', id], { cwd: bundle }).code, 0);
    assert.match(errorMessage(hutch(root, ['--config', config, 'pause', id]).stderr), /no cgroup/);
    assert.equal(hutch(root, ['--config', config, 'delete', '--force', id]).code, 0);
    assert.deepEqual(leftovers(root, id, bundle), []);
    const bad = makeBundle(path.join(work, 'cgbad'), ['true'], (s) => (s.annotations = { 'io.hutch.cgroup': 'v7' }));
    assert.match(errorMessage(hutch(root, ['run', containerId('cgbad')], { cwd: bad }).stderr), /io\.hutch\.cgroup.*unknown cgroup manager "v7"/);
  });
});
