/**
 * Security of exec. The CVE-2019-5736 class: a container process must not be able to
 * write to the binary that enters the container — hutch-init runs from a sealed
 * memfd copy, is not dumpable, and /proc/<pid>/exe never names a host file. Here the
 * container tries, with CAP_SYS_PTRACE even, while an exec is in progress (the
 * attack's own trick: a program whose interpreter is /proc/self/exe, which makes the
 * entering binary run again and wait), and again after it exited through a kept fd.
 * Also: masked paths stay masked and /proc/sys stays read-only for exec'd processes.
 */
import assert = require('node:assert/strict');
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { buildDir } from '../../addon';
import { makeBundle } from '../fixtures/busybox';
import { containerId, HUTCH_BIN, tempDir } from '../fixtures/env';
import { hutch, leftovers } from '../fixtures/hutch';
import { eventually } from '../fixtures/shim';

const work = tempDir('oci-security');
const root = path.join(work, 'state');
let n = 0;

after(() => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) hutch(root, ['delete', '--force', id]);
});

/** In the container: for every hutch-init it can see, try to write its executable, now and after it exits. */
const ATTACKER = `#!/bin/sh
while [ ! -e /shared/stop ]; do
  for d in /proc/[0-9]*; do
    exe=$(readlink $d/exe 2>/dev/null) || continue
    case "$exe" in *hutch-init*) ;; *) continue ;; esac
    p=\${d#/proc/}
    if ( echo pwned >> $d/exe ) 2>/dev/null; then echo "wrote $p $exe" >> /shared/log; else echo "refused $p $exe" >> /shared/log; fi
    if ( exec 3< $d/exe ) 2>/dev/null; then
      exec 3< $d/exe
      echo "holding $p" >> /shared/log
      while [ -e $d/exe ] && [ ! -e /shared/stop ]; do sleep 0.05; done
      if ( echo pwned >> /proc/self/fd/3 ) 2>/dev/null; then echo "late-wrote $p" >> /shared/log; else echo "late-refused $p" >> /shared/log; fi
      exec 3<&-
    fi
  done
  sleep 0.02
done
`;

function sha256(file: string): string {
  return crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

describe('security', () => {
  it('a container cannot write to the binary that enters it during exec (CVE-2019-5736 class)', async () => {
    const id = containerId(`cve${n++}`);
    const shared = tempDir('cve-shared');
    const bundle = makeBundle(path.join(work, id), ['/attacker.sh'], (s) => {
      s.mounts.push({ destination: '/shared', type: 'bind', source: shared, options: ['rbind', 'rw'] });
      // stronger than Docker's defaults: it may read other processes' exe links
      for (const set of ['bounding', 'effective', 'permitted']) s.process.capabilities[set].push('CAP_SYS_PTRACE', 'CAP_DAC_OVERRIDE');
    });
    fs.writeFileSync(path.join(bundle, 'rootfs', 'attacker.sh'), ATTACKER, { mode: 0o755 });
    // the attack's program: its interpreter is whatever executes it, i.e. the binary that entered
    fs.writeFileSync(path.join(bundle, 'rootfs', 'evil'), '#!/proc/self/exe\n', { mode: 0o755 });
    const hostFiles = [HUTCH_BIN, path.join(buildDir(), 'hutch-init'), path.join(buildDir(), 'hutch_native.node'), process.execPath];
    const before = hostFiles.map(sha256);
    assert.equal(hutch(root, ['run', '-d', '--bundle', bundle, id]).code, 0);
    try {
      // stdin stays open: the re-run hutch-init waits on it, holding the window open
      const exec = spawn(HUTCH_BIN, ['--root', root, 'exec', id, '/evil'], { stdio: ['pipe', 'ignore', 'ignore'] });
      const log = path.join(shared, 'log');
      const read = (): string => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '');
      assert.ok(await eventually(() => /holding \d+/.test(read()), 2000, 10), 'timed out waiting for the container to find the entering binary');
      const victim = /refused (\d+)/.exec(read());
      assert.ok(victim, `no write was allowed: ${read()}`);
      // from the host: the process that entered runs a memfd, not a file of ours
      const initPids = fs.readFileSync(path.join(`/sys/fs/cgroup/pids/hutch/${id}`, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
      const exes = initPids.map((p) => {
        try {
          return fs.readlinkSync(`/proc/${p}/exe`);
        } catch {
          return '';
        }
      });
      assert.ok(exes.some((e) => e.startsWith('/memfd:hutch-init')), `the entering binary is a memfd: ${exes.join(', ')}`);
      exec.stdin.end();
      const code = await new Promise<number | null>((r) => exec.on('close', r));
      assert.equal(code, 1, 'the re-run hutch-init found no plan and exited 1');
      assert.ok(await eventually(() => /late-(wrote|refused)/.test(read()), 2000, 10), 'timed out waiting for the attempt after exit');
      fs.writeFileSync(path.join(shared, 'stop'), '');
      const text = read();
      assert.doesNotMatch(text, /wrote/, text);
      assert.match(text, /late-refused/);
      assert.deepEqual(hostFiles.map(sha256), before, 'the host binaries are untouched');
    } finally {
      fs.writeFileSync(path.join(shared, 'stop'), '');
      assert.equal(hutch(root, ['delete', '--force', id]).code, 0);
    }
    assert.deepEqual(leftovers(root, id, bundle), []);
  });

  it('masked paths stay masked and /proc/sys stays read-only for exec', () => {
    const id = containerId(`masked${n++}`);
    const bundle = makeBundle(path.join(work, id), ['sleep', '100000'], (s) => {
      for (const set of ['bounding', 'effective', 'permitted']) s.process.capabilities[set].push('CAP_SYS_ADMIN');
    });
    assert.equal(hutch(root, ['run', '-d', '--bundle', bundle, id]).code, 0);
    try {
      // CAP_SYS_ADMIN: the write fails because the mount is read-only, not for want of rights
      const r = hutch(root, ['exec', id, 'sh', '-c', [
        'wc -c < /proc/timer_list',
        'ls -A /sys/firmware | wc -l',
        'grep -c " /proc/sys " /proc/self/mountinfo',
        '(echo hutch > /proc/sys/kernel/domainname) 2>&1 || true',
      ].join('; ')]);
      const lines = r.stdout.split('\n');
      assert.equal(lines[0].trim(), '0', '/proc/timer_list is masked');
      assert.equal(lines[1].trim(), '0', '/sys/firmware is masked');
      assert.equal(lines[2].trim(), '1', '/proc/sys is a mount of its own');
      assert.match(lines[3], /Read-only file system/, '/proc/sys is read-only');
    } finally {
      hutch(root, ['delete', '--force', id]);
    }
    // without /proc/sys in readonlyPaths it is writable to a process allowed to write it
    const open = containerId(`rw${n++}`);
    const openBundle = makeBundle(path.join(work, open), ['sleep', '100000'], (s) => {
      s.linux.readonlyPaths = s.linux.readonlyPaths.filter((p: string) => p !== '/proc/sys');
      for (const set of ['bounding', 'effective', 'permitted']) s.process.capabilities[set].push('CAP_SYS_ADMIN');
    });
    assert.equal(hutch(root, ['run', '-d', '--bundle', openBundle, open]).code, 0);
    try {
      const r = hutch(root, ['exec', open, 'sh', '-c', 'echo hutch-domain > /proc/sys/kernel/domainname && cat /proc/sys/kernel/domainname']);
      assert.equal(r.stdout, 'hutch-domain\n', r.stderr);
    } finally {
      hutch(root, ['delete', '--force', open]);
    }
  });
});
