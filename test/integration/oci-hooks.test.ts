/**
 * OCI hooks, all six stages: each at its point in the lifecycle and in the namespace
 * the runtime spec requires, with the state JSON on stdin, its args, its env (or the
 * runtime's, when absent) and its timeout. A failing creation-time hook fails create
 * and leaves nothing behind; poststart and poststop failures are logged, not fatal.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { makeBundle } from '../fixtures/busybox';
import { containerId, tempDir } from '../fixtures/env';
import { errorMessage, hutch, leftovers, stateOf, waitForStatus } from '../fixtures/hutch';

const work = tempDir('oci-hooks');
const root = path.join(work, 'state');
let n = 0;

after(() => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) hutch(root, ['delete', '--force', id]);
});

/**
 * Writes what a hook saw to <dir>/<stage> and appends the stage to <dir>/order.
 * Plain sh and coreutils-or-busybox commands: it runs on the host and in the container.
 */
const MARKER_HOOK = `#!/bin/sh
stage=$1 dir=$2
{
  echo "mnt=$(readlink /proc/self/ns/mnt)"
  echo "pid=$(readlink /proc/self/ns/pid)"
  echo "net=$(readlink /proc/self/ns/net)"
  echo "cwd=$(pwd)"
  echo "env=$HOOK_ENV"
  echo "inherited=$INHERITED"
  echo "state=$(cat)"
} > "$dir/$stage"
echo "$stage" >> "$dir/order"
`;

interface Seen {
  mnt: string;
  pid: string;
  net: string;
  cwd: string;
  env: string;
  inherited: string;
  state: { status: string; pid: number; id: string; bundle: string; annotations?: Record<string, string> };
}

function seen(dir: string, stage: string): Seen {
  const fields = Object.fromEntries(
    fs
      .readFileSync(path.join(dir, stage), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { ...fields, state: JSON.parse(fields.state) } as Seen;
}

function hookFile(dir: string): string {
  const file = path.join(dir, 'marker-hook.sh');
  fs.writeFileSync(file, MARKER_HOOK, { mode: 0o755 });
  return file;
}

describe('hooks', () => {
  it('runs all six stages in order, each in its namespace, with state, args, env and cwd', async () => {
    const id = containerId(`all${n++}`);
    const markers = tempDir('hook-markers');
    const hook = hookFile(work);
    const bundle = makeBundle(path.join(work, id), ['sleep', '100000'], (s) => {
      s.annotations = { 'org.hutch.test': 'yes' };
      s.mounts.push({ destination: '/markers', type: 'bind', source: markers, options: ['rbind', 'rw'] });
      s.root.readonly = false;
      const entry = (stage: string, dir: string, extra: Record<string, unknown> = {}) => ({ path: hook, args: ['marker-hook', stage, dir], env: ['HOOK_ENV=set-for-' + stage, 'PATH=/usr/bin:/bin'], timeout: 20, ...extra });
      s.hooks = {
        prestart: [entry('prestart', markers)],
        createRuntime: [{ path: hook, args: ['marker-hook', 'createRuntime', markers] }],
        createContainer: [entry('createContainer', markers)],
        // resolved in the container after pivot_root: the script is copied into the rootfs
        startContainer: [{ ...entry('startContainer', '/markers'), path: '/marker-hook.sh' }],
        poststart: [entry('poststart', markers)],
        poststop: [entry('poststop', markers)],
      };
    });
    fs.copyFileSync(hook, path.join(bundle, 'rootfs', 'marker-hook.sh'));
    fs.chmodSync(path.join(bundle, 'rootfs', 'marker-hook.sh'), 0o755);

    // an extra variable in hutch's environment: what hooks without `env` inherit
    const created = hutch(root, ['create', '--bundle', bundle, id], { env: { ...process.env, INHERITED: 'from-runtime' } });
    assert.equal(created.code, 0, created.stderr);
    const initPid = stateOf(root, id).pid;
    const containerMnt = fs.readlinkSync(`/proc/${initPid}/ns/mnt`);
    const containerPid = fs.readlinkSync(`/proc/${initPid}/ns/pid`);
    assert.deepEqual(fs.readFileSync(path.join(markers, 'order'), 'utf8').split('\n').filter(Boolean), ['prestart', 'createRuntime', 'createContainer']);
    assert.equal(hutch(root, ['start', id]).code, 0);
    assert.equal(hutch(root, ['kill', id, 'KILL']).code, 0);
    await waitForStatus(root, id, 'stopped', { tries: 500, pauseMs: 10 });
    assert.equal(hutch(root, ['delete', id]).code, 0);

    assert.deepEqual(fs.readFileSync(path.join(markers, 'order'), 'utf8').split('\n').filter(Boolean), [
      'prestart',
      'createRuntime',
      'createContainer',
      'startContainer',
      'poststart',
      'poststop',
    ]);
    const hostMnt = fs.readlinkSync('/proc/self/ns/mnt');
    const hostNet = fs.readlinkSync('/proc/self/ns/net');
    for (const stage of ['prestart', 'createRuntime', 'poststart', 'poststop']) {
      const s = seen(markers, stage);
      assert.equal(s.mnt, hostMnt, `${stage} runs in the runtime's mount namespace`);
      assert.equal(s.net, hostNet, `${stage} runs in the runtime's network namespace`);
      assert.equal(s.cwd, bundle, `${stage} runs in the bundle directory`);
      assert.equal(s.state.id, id);
      assert.equal(s.state.bundle, bundle);
      assert.deepEqual(s.state.annotations, { 'org.hutch.test': 'yes' });
    }
    for (const stage of ['createContainer', 'startContainer']) {
      const s = seen(markers, stage);
      assert.equal(s.mnt, containerMnt, `${stage} runs in the container's mount namespace`);
      assert.equal(s.pid, containerPid, `${stage} runs in the container's pid namespace`);
      assert.equal(s.state.pid, 1, `${stage}: the init's pid as the container sees it`);
    }
    assert.equal(seen(markers, 'createContainer').cwd, path.join(bundle, 'rootfs'), 'createContainer: before pivot_root, in the rootfs');
    assert.equal(seen(markers, 'startContainer').cwd, '/');
    assert.deepEqual(
      ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'].map((s) => seen(markers, s).state.status),
      ['creating', 'creating', 'creating', 'created', 'running', 'stopped'],
    );
    assert.equal(seen(markers, 'prestart').state.pid, initPid, 'prestart: the host pid of the init');
    assert.equal(seen(markers, 'poststart').state.pid, initPid);
    assert.equal(seen(markers, 'prestart').env, 'set-for-prestart', 'env: the hook gets its own environment');
    assert.equal(seen(markers, 'prestart').inherited, '', '... and only that');
    assert.equal(seen(markers, 'createRuntime').inherited, 'from-runtime', "no env: the runtime's environment");
    assert.equal(seen(markers, 'startContainer').env, 'set-for-startContainer');
    assert.deepEqual(leftovers(root, id, bundle), []);
  });

  for (const stage of ['prestart', 'createRuntime', 'createContainer'] as const) {
    it(`a failing ${stage} hook fails create and leaves nothing behind`, () => {
      const id = containerId(`fail${n++}`);
      const bundle = makeBundle(path.join(work, id), ['sleep', '100000'], (s) => {
        s.hooks = { [stage]: [{ path: '/bin/true' }, { path: '/bin/sh', args: ['sh', '-c', 'echo the hook says no >&2; exit 3'] }] };
      });
      const r = hutch(root, ['create', '--bundle', bundle, id]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(errorMessage(r.stderr), new RegExp(`${stage} hook #1 \\(/bin/sh\\) failed with exit status 3: the hook says no`));
      assert.deepEqual(leftovers(root, id, bundle), []);
      assert.equal(hutch(root, ['state', id]).code, 1);
    });
  }

  it('kills a hook that runs past its timeout and fails create', () => {
    for (const stage of ['prestart', 'createContainer']) {
      const id = containerId(`timeout${n++}`);
      const pidFile = path.join(work, `${id}.hook-pid`);
      // the hook notes its host pid (/proc here is the host's, also before pivot_root), then sleeps
      const script = `read -r pid rest < /proc/self/stat; echo $pid > ${pidFile}; exec sleep 1000`;
      const bundle = makeBundle(path.join(work, id), ['true'], (s) => {
        s.hooks = { [stage]: [{ path: '/bin/sh', args: ['sh', '-c', script], timeout: 1 }] };
      });
      const r = hutch(root, ['create', '--bundle', bundle, id]);
      assert.equal(r.code, 1);
      assert.match(errorMessage(r.stderr), new RegExp(`${stage} hook #0 \\(/bin/sh\\) ran past specified timeout of 1s`));
      assert.deepEqual(leftovers(root, id, bundle), []);
      const hookPid = fs.readFileSync(pidFile, 'utf8').trim();
      assert.match(hookPid, /^\d+$/);
      assert.equal(fs.existsSync(`/proc/${hookPid}`), false, 'the hook was killed and reaped');
    }
  });

  it('poststart and poststop failures are logged, not fatal', async () => {
    const id = containerId(`post${n++}`);
    const bundle = makeBundle(path.join(work, id), ['sleep', '100000'], (s) => {
      s.hooks = {
        poststart: [{ path: '/bin/sh', args: ['sh', '-c', 'echo poststart broke >&2; exit 1'] }],
        poststop: [{ path: '/bin/sh', args: ['sh', '-c', 'echo poststop broke >&2; exit 2'] }],
      };
    });
    assert.equal(hutch(root, ['create', '--bundle', bundle, id]).code, 0);
    const started = hutch(root, ['start', id]);
    assert.equal(started.code, 0);
    assert.match(started.stderr, /level=warning msg=".*poststart hook #0 \(\/bin\/sh\) failed with exit status 1: poststart broke/);
    assert.equal(stateOf(root, id).status, 'running');
    const deleted = hutch(root, ['delete', '--force', id]);
    assert.equal(deleted.code, 0);
    assert.match(deleted.stderr, /level=warning msg=".*poststop hook #0 \(\/bin\/sh\) failed with exit status 2: poststop broke/);
    assert.deepEqual(leftovers(root, id, bundle), []);
  });

  it('a failing startContainer hook stops the container before its program runs', async () => {
    const id = containerId(`startfail${n++}`);
    const markers = tempDir('hook-startfail');
    const bundle = makeBundle(path.join(work, id), ['sh', '-c', 'echo ran > /markers/program'], (s) => {
      s.mounts.push({ destination: '/markers', type: 'bind', source: markers, options: ['rbind', 'rw'] });
      s.hooks = { startContainer: [{ path: '/bin/false' }] };
    });
    assert.equal(hutch(root, ['create', '--bundle', bundle, id]).code, 0);
    hutch(root, ['start', id]);
    await waitForStatus(root, id, 'stopped', { tries: 500, pauseMs: 10 });
    assert.equal(stateOf(root, id).status, 'stopped');
    assert.equal(fs.existsSync(path.join(markers, 'program')), false, 'the program never ran');
    assert.equal(hutch(root, ['delete', id]).code, 0);
    assert.deepEqual(leftovers(root, id, bundle), []);
  });
});
