/**
 * Bad input to create/run: one error line naming the JSON path or flag, exit status
 * 1, and nothing left behind (state dir, cgroup, mounts, processes).
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { makeBundle } from '../fixtures/busybox';
import { containerId, tempDir } from '../fixtures/env';
import { errorMessage, hutch, leftovers } from '../fixtures/hutch';

const work = tempDir('badinput');
const root = path.join(work, 'state');

function expectRefused(name: string, edit: (spec: any) => void, pattern: RegExp, raw?: string): void {
  // `any`: the point is to write invalid shapes
  const bundle = makeBundle(path.join(work, name), ['true'], edit);
  if (raw !== undefined) fs.writeFileSync(path.join(bundle, 'config.json'), raw);
  const id = containerId(name);
  const r = hutch(root, ['run', id], { cwd: bundle });
  assert.equal(r.code, 1, `${name}: exit status`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `${name}: one error line, got:\n${r.stderr}`);
  assert.match(errorMessage(lines[0]), pattern);
  assert.deepEqual(leftovers(root, id, bundle), [], `${name}: nothing left`);
}

describe('bad config.json', () => {
  it('malformed JSON', () => expectRefused('json', () => undefined, /config\.json: not valid JSON/, '{"ociVersion": '));
  it('wrong types', () => expectRefused('types', (s) => (s.process.user.uid = '0'), /process\.user\.uid: expected an integer/));
  it('args not a list', () => expectRefused('args', (s) => (s.process.args = 'sh'), /process\.args: expected an array/));
  it('unknown namespace', () =>
    expectRefused('ns', (s) => (s.linux.namespaces[1].type = 'nett'), /linux\.namespaces\[1\]\.type: unknown namespace "nett"/));
  it('relative rootfs that does not exist', () => expectRefused('rootfs', (s) => (s.root.path = 'nope'), /root\.path: rootfs ".*\/nope" does not exist/));
  it('bad capability name', () =>
    expectRefused('cap', (s) => s.process.capabilities.bounding.push('CAP_FLY'), /process\.capabilities\.bounding\[3\]: unknown capability "CAP_FLY"/));
  it('bad seccomp action', () =>
    expectRefused(
      'seccomp',
      (s) => (s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_EXPLODE' }] }),
      /linux\.seccomp\.syscalls\[0\]\.action: unknown seccomp action "SCMP_ACT_EXPLODE"/,
    ));
  it('bad rlimit', () => expectRefused('rlimit', (s) => (s.process.rlimits = [{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }]), /process\.rlimits\[0\]\.type: unknown rlimit/));
  it('sysctl outside the container namespaces', () =>
    expectRefused('sysctl', (s) => (s.linux.sysctl = { 'vm.swappiness': '10' }), /linux\.sysctl\.vm\.swappiness: .*not in a separate kernel namespace/));
  it('relative cwd', () => expectRefused('cwd', (s) => (s.process.cwd = 'tmp'), /process\.cwd: "tmp" is not an absolute path/));
  it('mount inside /proc', () =>
    expectRefused('procmount', (s) => s.mounts.push({ destination: '/proc/sys/kernel', type: 'tmpfs', source: 'tmpfs' }), /mounts\[7\]\.destination: .*inside \/proc/));
  it('missing program', () => expectRefused('noprog', (s) => (s.process.args = ['no-such-program']), /executable file not found in \$PATH/));
  it('a mount that fails in the kernel', () =>
    expectRefused('badfs', (s) => s.mounts.push({ destination: '/x', type: 'nosuchfs', source: 'none' }), /mount "none" \(nosuchfs\) on \/x: no such device/));
  it('systemd cgroup path', () =>
    expectRefused('systemd', (s) => (s.linux.cgroupsPath = 'system.slice:hutch:x'), /linux\.cgroupsPath: .*systemd/));
});

describe('bad ids and flags', () => {
  it('refuses a duplicate container id and keeps the first', () => {
    const bundle = makeBundle(path.join(work, 'dup'), ['sleep', '100']);
    const id = containerId('dup');
    assert.equal(hutch(root, ['create', '-b', bundle, id]).code, 0);
    const again = hutch(root, ['create', '-b', bundle, id]);
    assert.equal(again.code, 1);
    assert.match(errorMessage(again.stderr), /container with id ".*" already exists/);
    assert.equal(JSON.parse(hutch(root, ['state', id]).stdout).status, 'created');
    assert.equal(hutch(root, ['delete', id]).code, 0);
    assert.deepEqual(leftovers(root, id, bundle), []);
  });

  it('refuses an id with a slash', () => {
    const bundle = makeBundle(path.join(work, 'slash'), ['true']);
    const r = hutch(root, ['create', '-b', bundle, 'a/b']);
    assert.equal(r.code, 1);
    assert.match(errorMessage(r.stderr), /invalid container id "a\/b"/);
    assert.equal(fs.existsSync(path.join(root, 'a')), false);
  });

  it('names a missing bundle and an unknown flag', () => {
    const r = hutch(root, ['create', '-b', path.join(work, 'nope'), containerId('nobundle')]);
    assert.match(r.stderr, /--bundle: .*nope: no such file or directory/);
    const f = hutch(root, ['create', '--bogus', 'x']);
    assert.match(f.stderr, /flag provided but not defined: -bogus/);
  });

  it('refuses --systemd-cgroup clearly', () => {
    const r = hutch(root, ['--systemd-cgroup', 'create', 'x']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /systemd cgroup driver is not supported/);
  });

  it('refuses a terminal without a console socket, and a console socket that is not a socket', () => {
    const bundle = makeBundle(path.join(work, 'tty'), ['sh'], (s) => (s.process.terminal = true));
    const id = containerId('tty');
    assert.match(hutch(root, ['create', '-b', bundle, id]).stderr, /cannot allocate tty .* console socket/);
    const notSocket = path.join(work, 'not-a-socket');
    fs.writeFileSync(notSocket, '');
    assert.match(hutch(root, ['create', '-b', bundle, '--console-socket', notSocket, id]).stderr, /--console-socket: .*not a socket/);
    assert.deepEqual(leftovers(root, id, bundle), []);
  });

  it('writes runc-style JSON error lines to --log', () => {
    const log = path.join(work, 'log.json');
    const r = hutch(root, ['--log', log, '--log-format', 'json', 'state', containerId('missing')]);
    assert.equal(r.code, 1);
    const line = JSON.parse(fs.readFileSync(log, 'utf8').trim().split('\n').pop()!);
    assert.equal(line.level, 'error');
    assert.match(line.msg, /does not exist/);
    assert.match(line.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  });
});
