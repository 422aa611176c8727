/**
 * User namespaces: a root-started container with uid/gid mappings (files it makes are
 * owned by the mapped ids, `id` inside says root, the host sees the mapped uid, for
 * exec'd processes too); and rootless: hutch run by an unprivileged user (made for
 * the test with useradd, removed after) with the bundle `hutch spec --rootless`
 * writes, state under $XDG_RUNTIME_DIR/hutch, no cgroup and a message saying what
 * that skips, several ids mapped through newuidmap/newgidmap.
 */
import assert = require('node:assert/strict');
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeBundle, makeRootfs } from '../fixtures/busybox';
import { containerId, HUTCH_BIN, RUN_ID, tempDir } from '../fixtures/env';
import { errorMessage, hutch, leftovers, waitForStatus, type Result } from '../fixtures/hutch';

const work = tempDir('oci-userns');
const root = path.join(work, 'state');
let n = 0;

/** Ownership of every file under `dir` (symlinks too), as `chown -R -h` would set it. */
function chownTree(dir: string, uid: number, gid: number): void {
  fs.lchownSync(dir, uid, gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownTree(p, uid, gid);
    else fs.lchownSync(p, uid, gid);
  }
}

function hostUid(pid: number): number {
  return Number(/^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
}

after(() => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) hutch(root, ['delete', '--force', id]);
});

describe('user namespaces (started by root)', () => {
  it('maps ids: root inside, the mapped uid outside, files owned by mapped ids', () => {
    const base = 300000 + (parseInt(RUN_ID, 16) % 1000) * 65536;
    const id = containerId(`userns${n++}`);
    const bundle = makeBundle(path.join(work, id), ['sleep', '100000'], (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: base, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: base, size: 65536 }];
      s.root.readonly = false;
    });
    const rootfs = path.join(bundle, 'rootfs');
    chownTree(rootfs, base, base);
    fs.lchownSync(path.join(rootfs, 'home', 'user'), base + 1000, base + 1000);
    assert.equal(hutch(root, ['run', '-d', '--bundle', bundle, id]).code, 0);
    try {
      const pid = JSON.parse(hutch(root, ['state', id]).stdout).pid;
      assert.equal(hostUid(pid), base, 'the host sees the mapped uid');
      const r = hutch(root, ['exec', id, 'sh', '-c', 'id; cat /proc/self/uid_map; echo x > /tmp/made-inside; ls -ln /tmp/made-inside /bin/busybox; readlink /proc/self/ns/user']);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      assert.equal(lines[0], 'uid=0(root) gid=0(root)');
      assert.match(lines[1], new RegExp(`^\\s+0\\s+${base}\\s+65536$`));
      assert.match(lines[2], /^-\S+\s+1 0\s+0 .*\/bin\/busybox$/, 'inside, files of the mapped ids are root\'s');
      assert.match(lines[3], /^-\S+\s+1 0\s+0 .*\/tmp\/made-inside$/);
      assert.equal(lines[4], fs.readlinkSync(`/proc/${pid}/ns/user`), "exec joined the container's user namespace");
      const made = fs.statSync(path.join(rootfs, 'tmp', 'made-inside'));
      assert.deepEqual([made.uid, made.gid], [base, base], 'on the host, owned by the mapped ids');
      const asUser = hutch(root, ['exec', '-u', 'user', '-d', '--pid-file', path.join(work, `${id}.pid`), id, 'sh', '-c', 'touch /home/user/mine; exec sleep 1000']);
      assert.equal(asUser.code, 0, asUser.stderr);
      const userPid = Number(fs.readFileSync(path.join(work, `${id}.pid`), 'utf8'));
      assert.equal(hostUid(userPid), base + 1000, 'uid 1000 inside is base+1000 outside');
      for (let i = 0; i < 500 && !fs.existsSync(path.join(rootfs, 'home', 'user', 'mine')); i++) spawnSync('sleep', ['0.01']);
      assert.equal(fs.statSync(path.join(rootfs, 'home', 'user', 'mine')).uid, base + 1000);
    } finally {
      assert.equal(hutch(root, ['delete', '--force', id]).code, 0);
    }
    assert.deepEqual(leftovers(root, id, bundle), []);
  });
});

describe('rootless', () => {
  const user = `hut${RUN_ID}`;
  let uid = 0;
  let gid = 0;
  let xdg = '';
  let subuid: { start: number; count: number } | undefined;
  let subgid: { start: number; count: number } | undefined;

  before(() => {
    execFileSync('useradd', ['--no-create-home', '--shell', '/usr/sbin/nologin', user]);
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }));
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }));
    xdg = tempDir('rootless-xdg');
    fs.chownSync(xdg, uid, gid);
    fs.chmodSync(xdg, 0o700);
    const range = (file: string): { start: number; count: number } | undefined => {
      const line = (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '').split('\n').find((l) => l.startsWith(`${user}:`));
      return line ? { start: Number(line.split(':')[1]), count: Number(line.split(':')[2]) } : undefined;
    };
    subuid = range('/etc/subuid');
    subgid = range('/etc/subgid');
  });

  after(() => {
    // the user's containers first (as the user), then the user and its subordinate ids
    for (const id of fs.existsSync(path.join(xdg, 'hutch')) ? fs.readdirSync(path.join(xdg, 'hutch')) : []) asUser(['delete', '--force', id]);
    spawnSync('userdel', [user]);
  });

  /** Runs hutch as the test user, with XDG_RUNTIME_DIR and no --root (the default applies). */
  function asUser(args: string[], cwd?: string): Result {
    const dir = fs.mkdtempSync(path.join(work, 'io-'));
    fs.chmodSync(dir, 0o777);
    const out = path.join(dir, 'out');
    const err = path.join(dir, 'err');
    const fds = [fs.openSync('/dev/null', 'r'), fs.openSync(out, 'w'), fs.openSync(err, 'w')];
    try {
      const r = spawnSync(HUTCH_BIN, args, { cwd, uid, gid, stdio: fds, env: { PATH: process.env.PATH, XDG_RUNTIME_DIR: xdg }, timeout: 60_000 });
      if (r.error) throw r.error;
      return { code: r.status ?? 137, stdout: fs.readFileSync(out, 'utf8'), stderr: fs.readFileSync(err, 'utf8') };
    } finally {
      for (const fd of fds) fs.closeSync(fd);
    }
  }

  /** A bundle from `hutch spec --rootless`, written by the user; `edit` changes config.json. */
  function rootlessBundle(name: string, edit: (spec: any) => void): string {
    // `any`: tests reshape the spec freely
    const bundle = path.join(work, name);
    fs.mkdirSync(bundle);
    fs.chownSync(bundle, uid, gid);
    makeRootfs(path.join(bundle, 'rootfs'));
    const r = asUser(['spec', '--rootless'], bundle);
    assert.equal(r.code, 0, r.stderr);
    const file = path.join(bundle, 'config.json');
    const spec = JSON.parse(fs.readFileSync(file, 'utf8'));
    spec.process.terminal = false;
    edit(spec);
    fs.writeFileSync(file, JSON.stringify(spec));
    return bundle;
  }

  it('runs a container as an unprivileged user: root inside, the user outside, no cgroup', async () => {
    const id = containerId(`rootless${n++}`);
    const bundle = rootlessBundle(id, (s) => {
      s.process.args = ['sleep', '100000'];
      s.linux.resources = { pids: { limit: 50 } };
    });
    const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8'));
    assert.deepEqual(spec.linux.uidMappings, [{ containerID: 0, hostID: uid, size: 1 }], 'spec --rootless maps the caller to root');
    const run = asUser(['run', '-d', '--bundle', bundle, id]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /level=warning msg="rootless: no cgroup was delegated to this user .*linux.resources pids not applied/);
    assert.ok(fs.existsSync(path.join(xdg, 'hutch', id, 'state.json')), 'state under $XDG_RUNTIME_DIR/hutch');
    const state = JSON.parse(asUser(['state', id]).stdout);
    assert.equal(state.status, 'running');
    assert.equal(hostUid(state.pid), uid, 'outside, the process is the user');
    const r = asUser(['exec', id, 'sh', '-c', 'id -u; cat /proc/self/uid_map; hostname; echo $$']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], '0', 'inside, root');
    assert.match(lines[1], new RegExp(`^\\s+0\\s+${uid}\\s+1$`));
    assert.equal(lines[2], 'runc');
    assert.notEqual(lines[3], '1');
    const t = asUser(['exec', '-t', id, 'tty']);
    assert.match(t.stdout, /^\/dev\/pts\/\d+\r\n$/, 'a terminal works rootless too');
    assert.equal(asUser(['kill', id, 'KILL']).code, 0);
    await waitForStatus(asUser, id, 'stopped', { tries: 500, pauseMs: 10 });
    assert.equal(asUser(['delete', id]).code, 0);
    assert.equal(fs.existsSync(path.join(xdg, 'hutch', id)), false);
    assert.deepEqual(leftovers(path.join(xdg, 'hutch'), id, bundle), []);
  });

  it('maps subordinate ids through newuidmap and newgidmap', (t) => {
    if (!subuid || !subgid) {
      t.skip(`useradd gave ${user} no /etc/subuid and /etc/subgid ranges here`);
      return;
    }
    const id = containerId(`rootless${n++}`);
    const bundle = rootlessBundle(id, (s) => {
      s.process.args = ['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id'];
      s.process.user.additionalGids = [5];
      s.linux.uidMappings = [
        { containerID: 0, hostID: uid, size: 1 },
        { containerID: 1, hostID: subuid!.start, size: 1000 },
      ];
      s.linux.gidMappings = [
        { containerID: 0, hostID: gid, size: 1 },
        { containerID: 1, hostID: subgid!.start, size: 1000 },
      ];
    });
    const r = asUser(['run', '--bundle', bundle, id]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.match(lines[1], new RegExp(`^\\s+1\\s+${subuid.start}\\s+1000$`));
    assert.match(lines[3], new RegExp(`^\\s+1\\s+${subgid.start}\\s+1000$`));
    assert.equal(lines[4], 'uid=0(root) gid=0(root) groups=5', 'setgroups allowed: additionalGids applied');
    const refused = rootlessBundle(`${id}-bad`, (s) => {
      s.process.args = ['true'];
      s.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
    });
    const bad = asUser(['run', '--bundle', refused, `${id}-bad`]);
    assert.equal(bad.code, 1);
    assert.match(errorMessage(bad.stderr), /linux.uidMappings: newuidmap .* failed/);
    assert.deepEqual(leftovers(path.join(xdg, 'hutch'), `${id}-bad`, refused), []);
  });
});
