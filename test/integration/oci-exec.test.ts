/**
 * `hutch exec`: the new process joins every namespace and the cgroup of the
 * container, gets its own user, caps, env, cwd and limits, and the container's
 * seccomp; exit statuses (foreground, detached, 255 for a program that cannot
 * start); paused and stopped containers; bad input leaves nothing running.
 */
import assert = require('node:assert/strict');
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { makeBundle } from '../fixtures/busybox';
import { containerId, HUTCH_BIN, tempDir } from '../fixtures/env';
import { errorMessage, hutch, leftovers } from '../fixtures/hutch';

const work = tempDir('oci-exec');
const root = path.join(work, 'state');
let n = 0;

after(() => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) hutch(root, ['delete', '--force', id]);
});

/** A running container (sleeping init) made from runc's default spec, edited by `edit`. */
function running(name: string, edit?: (spec: any) => void): { id: string; bundle: string; pid: number } {
  // `any`: tests reshape the spec freely
  const id = containerId(`${name}${n++}`);
  const bundle = makeBundle(path.join(work, id), ['sleep', '100000'], edit);
  const r = hutch(root, ['run', '-d', '--bundle', bundle, id]);
  assert.equal(r.code, 0, r.stderr);
  return { id, bundle, pid: JSON.parse(hutch(root, ['state', id]).stdout).pid };
}

/** Host pids of the processes in the mount namespace of the container's init. */
function processesIn(initPid: number): number[] {
  const mnt = fs.readlinkSync(`/proc/${initPid}/ns/mnt`);
  return fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return fs.readlinkSync(`/proc/${p}/ns/mnt`) === mnt;
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('exec', () => {
  it('joins every namespace and the cgroup of the container', () => {
    const c = running('ns', (s) => s.linux.namespaces.push({ type: 'cgroup' }, { type: 'time' }));
    const r = hutch(root, ['exec', c.id, 'sh', '-c', 'for ns in mnt uts ipc pid net cgroup time user; do readlink /proc/self/ns/$ns; done; echo pid=$$; cat /proc/1/cmdline | tr "\\0" " "; echo; hostname; cat /proc/self/cgroup']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    for (const [i, ns] of ['mnt', 'uts', 'ipc', 'pid', 'net', 'cgroup', 'time', 'user'].entries()) {
      assert.equal(lines[i], fs.readlinkSync(`/proc/${c.pid}/ns/${ns}`), `${ns}: the container's namespace`);
    }
    assert.notEqual(lines[0], fs.readlinkSync('/proc/self/ns/mnt'));
    assert.match(lines[8], /^pid=\d+$/);
    assert.notEqual(lines[8], 'pid=1', 'a new process in the pid namespace, not its init');
    assert.equal(lines[9], 'sleep 100000 ', "the container's init is pid 1 of the namespace it joined");
    assert.equal(lines[10], 'runc');
    // with a cgroup namespace the container's own cgroup is its root
    assert.match(r.stdout, /^\d+:memory:\/$/m);
    // and seen from the host, the process was in the container's cgroup
    const tasks = fs.readFileSync(`/sys/fs/cgroup/memory/hutch/${c.id}/cgroup.procs`, 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(tasks, [String(c.pid)], 'the exec process has exited and left the cgroup');
    const sleeper = spawnSync(HUTCH_BIN, ['--root', root, 'exec', '-d', '--pid-file', path.join(work, `${c.id}.pid`), c.id, 'sleep', '1000'], { stdio: 'ignore' });
    assert.equal(sleeper.status, 0);
    const execPid = fs.readFileSync(path.join(work, `${c.id}.pid`), 'utf8');
    assert.match(execPid, /^\d+$/, 'pid file: decimal, no newline');
    for (const h of ['memory', 'pids', 'cpu', 'freezer', 'devices']) {
      const procs = fs.readFileSync(`/sys/fs/cgroup/${h}/hutch/${c.id}/cgroup.procs`, 'utf8');
      assert.ok(procs.split('\n').includes(execPid), `${h}: the detached process is in the container's cgroup`);
    }
    assert.equal(fs.readFileSync(`/proc/${execPid}/cmdline`, 'utf8'), 'sleep\x001000\x00');
    assert.equal(hutch(root, ['delete', '--force', c.id]).code, 0);
    assert.deepEqual(leftovers(root, c.id, c.bundle), []);
  });

  it('returns the exit status in the foreground, 255 when the program cannot start, 0 detached', () => {
    const c = running('status');
    assert.equal(hutch(root, ['exec', c.id, 'sh', '-c', 'exit 42']).code, 42);
    const out = hutch(root, ['exec', c.id, 'sh', '-c', 'echo out; echo err >&2']);
    assert.equal(out.stdout, 'out\n');
    assert.equal(out.stderr, 'err\n');
    const missing = hutch(root, ['exec', c.id, 'no-such-program']);
    assert.equal(missing.code, 255);
    assert.match(errorMessage(missing.stderr), /exec: "no-such-program": executable file not found in \$PATH/);
    const dir = hutch(root, ['exec', c.id, '/etc']);
    assert.equal(dir.code, 255);
    assert.equal(hutch(root, ['exec', c.id, 'sh', '-c', 'kill -9 $$']).code, 137);
    const input = hutch(root, ['exec', c.id, 'sh', '-c', 'read x; echo "read $x"'], { input: 'hello\n' });
    assert.equal(input.stdout, 'read hello\n', 'stdin is ours');
    assert.deepEqual(processesIn(c.pid), [c.pid], 'only the init is left');
  });

  it("runs as the user given by id or by the container's names, with HOME, cwd, env and groups", () => {
    const c = running('user');
    const show = ['sh', '-c', 'id; echo "$HOME $PWD $FOO $TERM"'];
    let r = hutch(root, ['exec', '--user', '1000', c.id, ...show]);
    assert.equal(r.stdout, 'uid=1000(user) gid=0(root)\n/home/user /  xterm\n', r.stderr);
    r = hutch(root, ['exec', '-u', 'user:users', '--cwd', '/tmp', '-e', 'FOO=bar', '-e', 'TERM=dumb', c.id, ...show]);
    assert.equal(r.stdout, 'uid=1000(user) gid=100(users)\n/home/user /tmp bar dumb\n', r.stderr);
    r = hutch(root, ['exec', '-u', 'nobody', '-g', '100', '-g', '1000', c.id, 'id']);
    assert.equal(r.stdout, 'uid=65534(nobody) gid=65534(nogroup) groups=100(users),1000(user)\n');
    r = hutch(root, ['exec', '-u', '4321:4321', c.id, 'sh', '-c', 'id; echo $HOME']);
    assert.equal(r.stdout, 'uid=4321 gid=4321\n/\n', 'no passwd entry: HOME is /');
    const unknown = hutch(root, ['exec', '-u', 'bob', c.id, 'id']);
    assert.equal(unknown.code, 1);
    assert.match(errorMessage(unknown.stderr), /--user: unable to find user bob/);
    const unknownGroup = hutch(root, ['exec', '-u', 'user:wheel', c.id, 'id']);
    assert.equal(unknownGroup.code, 1);
    assert.match(errorMessage(unknownGroup.stderr), /unable to find group wheel/);
    assert.deepEqual(processesIn(c.pid), [c.pid]);
  });

  it('a passwd symlink planted in the container does not lead to a host file', () => {
    const c = running('passwd');
    fs.renameSync(path.join(c.bundle, 'rootfs/etc/passwd'), path.join(c.bundle, 'rootfs/etc/passwd.real'));
    // resolved inside the container's root this is its own /etc/passwd.real; on the host it would be /etc/passwd
    fs.symlinkSync('/../../../../../../etc/passwd.real', path.join(c.bundle, 'rootfs/etc/passwd'));
    const r = hutch(root, ['exec', '-u', 'user', c.id, 'id', '-u']);
    assert.equal(r.stdout, '1000\n', r.stderr);
    fs.rmSync(path.join(c.bundle, 'rootfs/etc/passwd'));
    fs.symlinkSync('/proc/1/root/etc/passwd', path.join(c.bundle, 'rootfs/etc/passwd'));
    const viaProc = hutch(root, ['exec', '-u', 'root', c.id, 'id', '-u']);
    assert.equal(viaProc.code, 1, 'a magic link is not followed');
    assert.match(errorMessage(viaProc.stderr), /unable to find user root/);
  });

  it('gets its own capabilities and no_new_privs, and rlimits of its process', () => {
    const c = running('caps');
    let r = hutch(root, ['exec', c.id, 'grep', '-E', '^(CapEff|CapBnd|NoNewPrivs)', '/proc/self/status']);
    assert.match(r.stdout, /CapEff:\s+0+20000420\n/, 'the spec\'s caps: AUDIT_WRITE, KILL, NET_BIND_SERVICE');
    assert.match(r.stdout, /NoNewPrivs:\s+1/);
    r = hutch(root, ['exec', '--cap', 'CAP_SYS_ADMIN', '--cap', 'NET_ADMIN', '--no-new-privs=false', c.id, 'grep', '-E', '^(CapEff|CapBnd|NoNewPrivs)', '/proc/self/status']);
    assert.match(r.stdout, /CapEff:\s+0+20201420\n/, '--cap adds to the sets');
    assert.match(r.stdout, /CapBnd:\s+0+20201420\n/);
    assert.match(r.stdout, /NoNewPrivs:\s+0/);
    r = hutch(root, ['exec', c.id, 'sh', '-c', 'ulimit -n']);
    assert.equal(r.stdout, '1024\n', "the container process' RLIMIT_NOFILE");
    const bad = hutch(root, ['exec', '--cap', 'CAP_FLY', c.id, 'true']);
    assert.equal(bad.code, 1);
    assert.match(errorMessage(bad.stderr), /--cap: unknown capability "CAP_FLY"/);
  });

  it("runs a --process document, with the container's seccomp filter", () => {
    const c = running('process', (s) => {
      s.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] };
    });
    const file = path.join(work, `${c.id}-process.json`);
    fs.writeFileSync(
      file,
      JSON.stringify({
        terminal: false,
        user: { uid: 1000, gid: 1000, additionalGids: [100] },
        args: ['sh', '-c', 'id; echo $A; pwd; ulimit -n; mkdir /tmp/x || echo mkdir refused'],
        env: ['PATH=/bin', 'A=from-file'],
        cwd: '/home/user',
        rlimits: [{ type: 'RLIMIT_NOFILE', hard: 77, soft: 77 }],
        capabilities: { bounding: ['CAP_KILL'], effective: [], permitted: [] },
      }),
    );
    const r = hutch(root, ['exec', '--process', file, c.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'uid=1000(user) gid=1000(user) groups=100(users)\nfrom-file\n/home/user\n77\nmkdir refused\n');
  });

  it('refuses paused and stopped containers, and missing ones', () => {
    const c = running('paused');
    const freezer = `/sys/fs/cgroup/freezer/hutch/${c.id}/freezer.state`;
    fs.writeFileSync(freezer, 'FROZEN');
    try {
      for (let i = 0; i < 1000 && fs.readFileSync(freezer, 'utf8').trim() !== 'FROZEN'; i++) spawnSync('sleep', ['0.01']);
      const r = hutch(root, ['exec', c.id, 'true']);
      assert.equal(r.code, 1);
      assert.match(errorMessage(r.stderr), /cannot exec in a paused container .*--ignore-paused/);
    } finally {
      fs.writeFileSync(freezer, 'THAWED');
    }
    assert.equal(hutch(root, ['exec', c.id, 'true']).code, 0, 'thawed: exec works again');
    assert.equal(hutch(root, ['kill', c.id, 'KILL']).code, 0);
    for (let i = 0; i < 500 && fs.existsSync(`/proc/${c.pid}`); i++) spawnSync('sleep', ['0.01']);
    const stopped = hutch(root, ['exec', c.id, 'true']);
    assert.equal(stopped.code, 1);
    assert.match(errorMessage(stopped.stderr), /cannot exec in a stopped container/);
    const missing = hutch(root, ['exec', containerId('nope'), 'true']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr.trim().split('\n').length, 1, 'one line');
    assert.match(errorMessage(missing.stderr), /container "t\w+-nope" does not exist/);
  });

  it('passes --preserve-fds, joins a --cgroup sub-cgroup, and forwards signals in the foreground', async () => {
    const c = running('fds');
    const file = path.join(work, `${c.id}-fd3.txt`);
    fs.writeFileSync(file, 'through fd 3\n');
    const fd = fs.openSync(file, 'r');
    const r = spawnSync(HUTCH_BIN, ['--root', root, 'exec', '--preserve-fds', '1', c.id, 'sh', '-c', 'cat <&3; ls /proc/self/fd | wc -l'], { stdio: ['ignore', 'pipe', 'pipe', fd], encoding: 'utf8' });
    fs.closeSync(fd);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'through fd 3\n5\n', 'fds 0-3 and the one ls opened: nothing else leaked in');

    const sub = `/sys/fs/cgroup/memory/hutch/${c.id}/sub`;
    fs.mkdirSync(sub);
    try {
      const inSub = hutch(root, ['exec', '--cgroup', 'memory:sub', c.id, 'sh', '-c', 'grep -E ":(memory|pids):" /proc/self/cgroup']);
      assert.equal(inSub.code, 0, inSub.stderr);
      assert.match(inSub.stdout, new RegExp(`:memory:/hutch/${c.id}/sub\n`));
      assert.match(inSub.stdout, new RegExp(`:pids:/hutch/${c.id}\n`), 'other controllers: the container\'s own cgroup');
    } finally {
      fs.rmdirSync(sub);
    }

    const child = spawn(HUTCH_BIN, ['--root', root, 'exec', c.id, 'sh', '-c', 'trap "echo got TERM; exit 9" TERM; echo ready; while :; do sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    for (let i = 0; i < 1000 && !out.includes('ready'); i++) await new Promise((res) => setTimeout(res, 10));
    child.kill('SIGTERM');
    // 'exit', not 'close': should hutch die, the program would still hold the pipe
    const closed = new Promise((res) => child.on('close', res));
    const code = await new Promise((res) => child.on('exit', res));
    assert.equal(code, 9);
    await closed; // hutch waited for the program, so its end of the pipe is closed too
    assert.match(out, /got TERM/);
  });

  it('execs in a created container before start', () => {
    const id = containerId(`created${n++}`);
    const bundle = makeBundle(path.join(work, id), ['sh', '-c', 'echo started']);
    assert.equal(hutch(root, ['create', '-b', bundle, id]).code, 0);
    const r = hutch(root, ['exec', id, 'sh', '-c', 'echo in-created; cat /proc/1/cmdline | head -c 10 | od -c | head -1 >/dev/null']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'in-created\n');
    assert.equal(JSON.parse(hutch(root, ['state', id]).stdout).status, 'created');
    assert.equal(hutch(root, ['delete', id]).code, 0);
    assert.deepEqual(leftovers(root, id, bundle), []);
  });

  it('bad input: one clear line, exit 1, nothing started', () => {
    const c = running('bad');
    const notJson = path.join(work, 'not.json');
    fs.writeFileSync(notJson, '{ nope');
    const noArgs = path.join(work, 'noargs.json');
    fs.writeFileSync(noArgs, JSON.stringify({ user: { uid: 0, gid: 0 }, cwd: '/', env: [] }));
    const notSocket = path.join(work, 'not-a-socket');
    fs.writeFileSync(notSocket, '');
    const cases: [string[], RegExp][] = [
      [['exec', '--process', notJson, c.id], /--process: .*not.json: not valid JSON/],
      [['exec', '--process', noArgs, c.id], /process\.args: must name the program to run/],
      [['exec', '--process', path.join(work, 'missing.json'), c.id], /--process: .*missing.json: no such file or directory/],
      [['exec', c.id], /the command to run is missing/],
      [['exec', '--user', 'nosuchuser', c.id, 'true'], /--user: unable to find user nosuchuser/],
      [['exec', '-d', '-t', '--console-socket', notSocket, c.id, 'sh'], /--console-socket: .*not-a-socket: not a socket/],
      [['exec', '-d', '-t', c.id, 'sh'], /cannot allocate tty if hutch will detach without setting console socket/],
      [['exec', '--console-socket', notSocket, c.id, 'sh'], /cannot use console socket if hutch will not detach or allocate tty/],
      [['exec', '--cwd', 'relative', c.id, 'true'], /--cwd: "relative" is not an absolute path/],
      [['exec', '--cgroup', 'memory:nope', c.id, 'true'], /--cgroup: .*nope does not exist/],
      [['exec', '--preserve-fds', 'x', c.id, 'true'], /--preserve-fds: "x" is not an integer/],
    ];
    for (const [args, message] of cases) {
      const r = hutch(root, args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: one line`);
      assert.match(errorMessage(r.stderr), message);
    }
    assert.deepEqual(processesIn(c.pid), [c.pid], 'nothing left running in the container');
  });
});
