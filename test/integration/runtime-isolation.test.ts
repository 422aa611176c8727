/**
 * What a process inside a hutch container sees: its own namespaces, hostname, PID 1,
 * mounts, read-only and masked paths, seccomp, capabilities, rlimits, user, env, cwd.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { makeBundle } from '../fixtures/busybox';
import { containerId, tempDir } from '../fixtures/env';
import { hutch, leftovers } from '../fixtures/hutch';

const work = tempDir('isolation');
const root = path.join(work, 'state');
let n = 0;

/** Runs `script` under sh in a fresh busybox container and returns its output. */
function inContainer(script: string, edit?: (spec: any) => void): { code: number; stdout: string; stderr: string } {
  // `any`: tests reshape the spec freely
  const name = `c${n++}`;
  const bundle = makeBundle(path.join(work, name), ['sh', '-c', script], edit);
  const id = containerId(name);
  const r = hutch(root, ['run', id], { cwd: bundle });
  assert.deepEqual(leftovers(root, id, bundle), [], 'nothing left after run');
  return r;
}

describe('isolation', () => {
  it('has its own namespaces, hostname, PID 1 and mounts', () => {
    const r = inContainer('for ns in mnt uts ipc pid net; do readlink /proc/self/ns/$ns; done; hostname; echo pid=$$; cat /proc/self/mountinfo');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    for (const [i, ns] of ['mnt', 'uts', 'ipc', 'pid', 'net'].entries()) {
      assert.notEqual(lines[i], fs.readlinkSync(`/proc/self/ns/${ns}`), `${ns} namespace differs from the host's`);
    }
    assert.equal(lines[5], 'runc');
    assert.equal(lines[6], 'pid=1');
    const mounts = lines.slice(7).join('\n');
    assert.match(mounts, / \/ ro,/, 'root is mounted read-only (root.readonly)');
    for (const m of ['/proc', '/dev', '/dev/pts', '/dev/shm', '/dev/mqueue', '/sys', '/sys/fs/cgroup']) {
      assert.match(mounts, new RegExp(` ${m.replace(/\//g, '\\/')} `), `${m} is mounted`);
    }
    assert.doesNotMatch(mounts, / \/work /, "the host's mounts are not visible");
  });

  it('keeps the default devices and /dev links', () => {
    const r = inContainer('ls -l /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty; readlink /dev/fd; readlink /dev/ptmx; echo x > /dev/null && echo written');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^crw-rw-rw-\s+1 root\s+root\s+1,\s+3 .* \/dev\/null$/m);
    assert.match(r.stdout, /^\/proc\/self\/fd$/m);
    assert.match(r.stdout, /^pts\/ptmx$/m);
    assert.match(r.stdout, /written/);
  });

  it('masks and write-protects the paths the spec names', () => {
    // /proc/kcore and /proc/acpi do not exist on every kernel: mask what this host has
    const r = inContainer(
      'cat /proc/timer_list | wc -c; ls -A /sys/firmware | wc -l; grep " /sys/firmware " /proc/self/mountinfo | cut -d" " -f6; echo 1 > /proc/sys/kernel/domainname 2>&1 || echo ro-sys; touch /newfile 2>&1 || echo ro-root',
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.ok(fs.existsSync('/proc/timer_list') && fs.readFileSync('/proc/timer_list').length > 0, 'the host has a non-empty /proc/timer_list');
    assert.equal(lines[0], '0', '/proc/timer_list reads as /dev/null');
    assert.equal(lines[1], '0', '/sys/firmware is an empty tmpfs');
    assert.match(lines[2], /^ro\b/, 'the mask is read-only');
    assert.match(r.stdout, /ro-sys/);
    assert.match(r.stdout, /ro-root/);
  });

  it('applies a seccomp rule that turns mkdir into EPERM', () => {
    const r = inContainer('mkdir /tmp/d 2>&1; echo rc=$?; mkdir -p /dev/shm/ok 2>&1; echo rc2=$?', (s) => {
      s.root.readonly = false;
      s.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
        syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }],
      };
    });
    assert.match(r.stdout, /Operation not permitted/);
    assert.match(r.stdout, /rc=1/);
  });

  it('hands an SCMP_ACT_NOTIFY listener to listenerPath with the container state', async () => {
    const dir = tempDir('seccomp-notify');
    const sock = path.join(dir, 'agent.sock');
    const out = path.join(dir, 'received.json');
    // a stand-in seccomp agent: takes the message and the fd, records them, closes the fd
    // (notified syscalls then fail with ENOSYS, which the container sees)
    const agent = require('node:child_process').spawn('python3', [
      '-c',
      `import socket, json, os\ns = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(${JSON.stringify(sock)}); s.listen(1)\nc, _ = s.accept()\nmsg, fds, _, _ = socket.recv_fds(c, 65536, 4)\nopen(${JSON.stringify(out)}, 'w').write(json.dumps({'msg': json.loads(msg), 'nfds': len(fds)}))\n[os.close(f) for f in fds]`,
    ]);
    try {
      for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 10));
      const r = inContainer('mkdir /tmp/x 2>&1; echo done', (s) => {
        s.root.readonly = false;
        s.linux.seccomp = {
          defaultAction: 'SCMP_ACT_ALLOW',
          listenerPath: sock,
          listenerMetadata: 'hello agent',
          syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
        };
      });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Function not implemented/);
      const got = JSON.parse(fs.readFileSync(out, 'utf8'));
      assert.equal(got.nfds, 1);
      assert.deepEqual(got.msg.fds, ['seccompFd']);
      assert.equal(got.msg.metadata, 'hello agent');
      assert.ok(got.msg.pid > 0);
      assert.match(got.msg.state.id, new RegExp(`^${containerId('c')}`));
    } finally {
      agent.kill();
    }
  });

  it('supports seccomp argument conditions', () => {
    // personality(0xffffffff) only queries; forbid exactly persona 8 (LINUX32)
    const r = inContainer('echo ok', (s) => {
      s.linux.seccomp = {
        defaultAction: 'SCMP_ACT_ALLOW',
        syscalls: [{ names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] }],
      };
    });
    assert.equal(r.code, 0, r.stderr);
  });

  it('drops capabilities outside the spec sets', () => {
    const r = inContainer('grep -E "^Cap(Eff|Bnd)" /proc/self/status; chown 1000 /tmp 2>&1 || echo chown-denied', (s) => {
      s.root.readonly = false;
    });
    assert.equal(r.code, 0, r.stderr);
    // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29)
    const want = ((1n << 5n) | (1n << 10n) | (1n << 29n)).toString(16).padStart(16, '0');
    assert.match(r.stdout, new RegExp(`CapEff:\\s+${want}`));
    assert.match(r.stdout, new RegExp(`CapBnd:\\s+${want}`));
    assert.match(r.stdout, /chown-denied/, 'CAP_CHOWN is not in the set');
  });

  it('sets rlimits, user, groups, umask, env and cwd', () => {
    const r = inContainer('ulimit -n; ulimit -Hn; id; umask; echo "$FOO"; pwd', (s) => {
      s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 321, hard: 654 }];
      s.process.user = { uid: 1000, gid: 1000, additionalGids: [100], umask: 0o027 };
      s.process.env.push('FOO=bar baz');
      s.process.cwd = '/home/user';
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['321', '654', 'uid=1000(user) gid=1000(user) groups=100(users)', '0027', 'bar baz', '/home/user']);
  });

  it('creates a missing cwd', () => {
    const r = inContainer('pwd', (s) => {
      s.process.cwd = '/does/not/exist';
    });
    assert.equal(r.stdout.trim(), '/does/not/exist');
  });

  it('sets hostname, domainname, sysctls and oomScoreAdj', () => {
    const r = inContainer('hostname; cat /proc/sys/kernel/domainname /proc/sys/net/ipv4/ip_forward /proc/self/oom_score_adj', (s) => {
      s.hostname = 'box';
      s.domainname = 'example.org';
      s.linux.sysctl = { 'net.ipv4.ip_forward': '1' };
      s.process.oomScoreAdj = 500;
    });
    assert.deepEqual(r.stdout.trim().split('\n'), ['box', 'example.org', '1', '500']);
  });

  it('adds linux.devices', () => {
    const r = inContainer('ls -ln /dev/mydev', (s) => {
      s.linux.devices = [{ path: '/dev/mydev', type: 'c', major: 1, minor: 3, fileMode: 0o640, uid: 1000, gid: 100 }];
    });
    assert.match(r.stdout, /^crw-r-----\s+1 1000\s+100\s+1,\s+3 /);
  });

  it('bind mounts with options, and resolves mount targets inside the rootfs', () => {
    const hostDir = tempDir('bind-src');
    fs.writeFileSync(path.join(hostDir, 'file'), 'from host\n');
    const r = inContainer('cat /data/file; touch /data/new 2>&1 || echo ro-bind; cat /escape/file', (s) => {
      s.mounts.push({ destination: '/data', type: 'bind', source: hostDir, options: ['rbind', 'ro', 'nosuid'] });
      // a symlink in the rootfs pointing outside must not move the mount target out
      s.mounts.push({ destination: '/escape', type: 'bind', source: hostDir, options: ['bind'] });
    });
    assert.match(r.stdout, /from host/);
    assert.match(r.stdout, /ro-bind/);
  });

  it('fills a tmpfs from the directory below with tmpcopyup', () => {
    const r = inContainer('cat /etc/hostname; ls -ld /etc | cut -c1-10; grep " /etc " /proc/self/mountinfo | cut -d" " -f9', (s) => {
      s.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'mode=755'] });
    });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n'), ['busybox', 'drwxr-xr-x', 'tmpfs']);
  });

  it('never mounts outside the rootfs through a symlink', () => {
    const name = `c${n++}`;
    const outside = tempDir('outside');
    const bundle = makeBundle(path.join(work, name), ['sh', '-c', 'cat /evil/x'], (s) => {
      s.mounts.push({ destination: '/evil', type: 'tmpfs', source: 'tmpfs' });
    });
    fs.symlinkSync(outside, path.join(bundle, 'rootfs', 'evil'));
    hutch(root, ['run', containerId(name)], { cwd: bundle });
    const mounted = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === outside);
    assert.equal(mounted, false, 'the host directory behind the symlink was not mounted over');
    assert.deepEqual(fs.readdirSync(outside), []);
  });

  it('runs with --no-pivot', () => {
    const name = `c${n++}`;
    const bundle = makeBundle(path.join(work, name), ['sh', '-c', 'echo $$; ls /']);
    const r = hutch(root, ['run', '--no-pivot', containerId(name)], { cwd: bundle });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1\n/);
  });

  it('joins an existing network namespace by path', () => {
    const host = fs.readlinkSync('/proc/self/ns/net');
    const r = inContainer('readlink /proc/self/ns/net', (s) => {
      s.linux.namespaces = s.linux.namespaces.map((ns: { type: string }) => (ns.type === 'network' ? { type: 'network', path: `/proc/${process.pid}/ns/net` } : ns));
    });
    assert.equal(r.stdout.trim(), host);
  });

  it('maps users in a new user namespace', () => {
    const name = `c${n++}`;
    const bundle = makeBundle(path.join(work, name), ['sh', '-c', 'id -u; cat /proc/self/uid_map'], (s) => {
      s.linux.namespaces.push({ type: 'user' });
      s.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
      s.root.readonly = false;
    });
    // files in the rootfs belong to the mapped ids, as they would in a real image
    spawnChown(path.join(bundle, 'rootfs'), 100000);
    const r = hutch(root, ['run', containerId(name)], { cwd: bundle });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^0\n\s+0\s+100000\s+65536/);
  });

  it('brings loopback up in a new network namespace', () => {
    const r = inContainer('cat /sys/class/net/lo/operstate; ip -o link 2>/dev/null | grep -c . || ls /sys/class/net');
    assert.match(r.stdout, /^unknown\n/, 'lo is up (operstate "unknown" for loopback, "down" when down)');
  });

  it('joins a session keyring of its own', () => {
    const r = inContainer('grep " _ses\\." /proc/keys', (s) => {
      s.linux.maskedPaths = s.linux.maskedPaths.filter((p: string) => p !== '/proc/keys');
    });
    assert.match(r.stdout, new RegExp(`keyring\\s+_ses\\.${containerId('')}`));
  });

  it('offsets clocks in a new time namespace', () => {
    const r = inContainer('cut -d. -f1 /proc/uptime', (s) => {
      s.linux.namespaces.push({ type: 'time' });
      s.linux.timeOffsets = { boottime: { secs: 86400 * 365 } };
    });
    assert.ok(Number(r.stdout.trim()) >= 86400 * 365, r.stdout + r.stderr);
  });
});

function spawnChown(dir: string, id: number): void {
  require('node:child_process').execFileSync('chown', ['-R', '-h', `${id}:${id}`, dir]);
}
