/**
 * Docker 20.10 drives hutch: a private dockerd (own data-root, exec-root, socket and
 * bridge; iptables untouched) with hutch registered as the runtime "hutch", through
 * containerd's runc shim. run --rm, -it through a pty, -d with exec (and exec -it),
 * logs, stop, kill, stats, pause/unpause, top, update, resource limits, the security
 * options, the network modes.
 */
import assert = require('node:assert/strict');
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RUN_ID, tempDir } from '../fixtures/env';
import { busyboxImage } from '../fixtures/oci-image';
import { DOCKER, DOCKERD, Dockerd, parentCgroupExists, removeParentCgroup, waitUntil } from '../fixtures/peers';
import { spawnInPty } from '../fixtures/terminal';

const available = fs.existsSync(DOCKERD) && fs.existsSync(DOCKER);
const work = tempDir('oci-docker');
const image = `hutch-busybox:${RUN_ID}`;
const daemon = new Dockerd(path.join(work, 'd'));
/** Docker puts containers under /docker in every hierarchy and leaves it there */
const dockerCgroupExisted = parentCgroupExists('docker');
let n = 0;

function name(what: string): string {
  return `h${RUN_ID}-${what}${n++}`;
}

function docker(args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  return daemon.docker(args, { input });
}

/** `docker run --rm --runtime hutch [opts] IMAGE cmd...` */
function runHutch(opts: string[], cmd: string[]): { code: number; stdout: string; stderr: string } {
  return docker(['run', '--rm', '--runtime', 'hutch', ...opts, image, ...cmd]);
}

function inspect(id: string, format: string): string {
  return docker(['inspect', '--format', format, id]).stdout.trim();
}

describe('Docker 20.10 with --runtime hutch', { skip: !available && 'Docker 20.10 (docker.io) is not installed' }, () => {
  before(async () => {
    fs.mkdirSync(daemon.dir, { recursive: true });
    await daemon.start();
    const img = busyboxImage(path.join(work, 'image'), image);
    const imported = docker(['import', '--change', 'CMD ["sh"]', img.rootfsTar, image]);
    assert.equal(imported.code, 0, imported.stderr);
  });

  after(async () => {
    await daemon.stop();
    if (!dockerCgroupExisted) removeParentCgroup('docker');
  });

  it('run --rm: output, exit status, removal, hutch as the runtime', () => {
    const r = runHutch(['--network', 'none'], ['sh', '-c', 'echo out; echo err >&2; cat /proc/self/cgroup | grep memory; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stdout, /^out\n\d+:memory:\/docker\/[0-9a-f]{64}\n$/);
    assert.equal(r.stderr, 'err\n');
    assert.equal(docker(['ps', '-aq']).stdout.trim(), '', '--rm removed it');
    const input = docker(['run', '--rm', '-i', '--runtime', 'hutch', '--network', 'none', image, 'sh', '-c', 'read l; echo "got $l"'], 'hello\n');
    assert.equal(input.stdout, 'got hello\n');
    const missing = runHutch(['--network', 'none'], ['no-such-program']);
    assert.equal(missing.code, 127, 'Docker maps "executable file not found" to 127');
    assert.match(missing.stderr, /executable file not found in \$PATH/);
  });

  it('uses hutch: the state of a running container is in hutch\'s format', () => {
    const c = name('state');
    assert.equal(docker(['run', '-d', '--name', c, '--runtime', 'hutch', '--network', 'none', image, 'sleep', '1000']).code, 0);
    const id = inspect(c, '{{.Id}}');
    const states = spawnSync('find', [daemon.dir, '-path', `*/${id}/state.json`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    assert.equal(states.length, 1, states.join(','));
    const record = JSON.parse(fs.readFileSync(states[0], 'utf8'));
    assert.equal(record.version, 1);
    assert.equal(record.pid, Number(inspect(c, '{{.State.Pid}}')));
    assert.ok(record.spec.hooks.prestart.length > 0, "Docker's prestart hook (libnetwork-setkey) is there, and ran");
    docker(['rm', '-f', c]);
  });

  it('-it through a pty: a shell with a terminal, its size, its exit status', async () => {
    const { session, exited } = spawnInPty(DOCKER, ['-H', `unix://${daemon.socket}`, 'run', '-it', '--rm', '--runtime', 'hutch', '--network', 'none', image, 'sh'], { rows: 33, cols: 101 });
    try {
      session.write('tty; echo $((6*7))\n');
      await session.waitFor(/\/dev\/pts\/0\r\n42\r\n/);
      // the client sends its size once the container runs: ask until it has arrived
      for (let i = 0; i < 100 && !/33 101\r\n/.test(session.output); i++) {
        session.write(`echo mark${i}; stty size\n`);
        await session.waitFor(new RegExp(`\\r\\nmark${i}\\r\\n(\\d+ \\d+|stty: [^\\r]*)\\r\\n`));
      }
      assert.match(session.output, /33 101\r\n/);
      session.write('exit 4\n');
      assert.equal(await exited, 4);
    } finally {
      session.close();
    }
  });

  it('-d with exec (and exec -it), logs, stop and kill', async () => {
    const c = name('detached');
    const started = docker(['run', '-d', '--name', c, '--runtime', 'hutch', '--network', 'none', image, 'sh', '-c', 'echo started; trap "echo stopping; exit 0" TERM; while :; do sleep 0.1; done']);
    assert.equal(started.code, 0, started.stderr);
    const e = docker(['exec', c, 'sh', '-c', 'echo in exec; cat /proc/1/cmdline | tr "\\0" " "; id -u']);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /^in exec\nsh -c echo started.* 0\n$/);
    assert.equal(docker(['exec', c, 'sh', '-c', 'exit 6']).code, 6);
    assert.equal(docker(['exec', '-u', 'nobody', '-w', '/tmp', '-e', 'X=1', c, 'sh', '-c', 'echo $(id -un) $PWD $X']).stdout, 'nobody /tmp 1\n');
    const missing = docker(['exec', c, 'no-such-program']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stdout + missing.stderr, /executable file not found in \$PATH/);
    const { session, exited } = spawnInPty(DOCKER, ['-H', `unix://${daemon.socket}`, 'exec', '-it', c, 'sh'], { rows: 20, cols: 70 });
    try {
      session.write('tty\n');
      await session.waitFor(/\/dev\/pts\/\d+\r\n/);
      for (let i = 0; i < 100 && !/20 70\r\n/.test(session.output); i++) {
        session.write(`echo mark${i}; stty size\n`);
        await session.waitFor(new RegExp(`\\r\\nmark${i}\\r\\n(\\d+ \\d+|stty: [^\\r]*)\\r\\n`));
      }
      assert.match(session.output, /20 70\r\n/);
      session.write('exit 2\n');
      assert.equal(await exited, 2);
    } finally {
      session.close();
    }
    const stats = docker(['stats', '--no-stream', '--format', '{{.Name}} {{.MemUsage}} {{.PIDs}}', c]);
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, new RegExp(`^${c} \\d+(\\.\\d+)?[KMG]iB / \\S+ \\d+\\n$`));
    const stopped = docker(['stop', '-t', '30', c]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.equal(inspect(c, '{{.State.ExitCode}}'), '0', 'SIGTERM reached the trap: not killed');
    await waitUntil('the logs', () => /started\nstopping\n/.test(docker(['logs', c]).stdout));
    const k = name('kill');
    assert.equal(docker(['run', '-d', '--name', k, '--runtime', 'hutch', '--network', 'none', image, 'sleep', '1000']).code, 0);
    assert.equal(docker(['kill', k]).code, 0);
    await waitUntil('the kill', () => inspect(k, '{{.State.Status}}') === 'exited');
    assert.equal(inspect(k, '{{.State.ExitCode}}'), '137');
    docker(['rm', '-f', c, k]);
  });

  it('pause, unpause, top and update (hutch pause, resume, ps, update)', () => {
    const c = name('pause');
    assert.equal(docker(['run', '-d', '--name', c, '--runtime', 'hutch', '--network', 'none', image, 'sleep', '1000']).code, 0);
    assert.equal(docker(['pause', c]).code, 0);
    assert.equal(inspect(c, '{{.State.Status}}'), 'paused');
    assert.equal(docker(['unpause', c]).code, 0);
    assert.equal(inspect(c, '{{.State.Status}}'), 'running');
    const top = docker(['top', c]);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /sleep 1000/);
    const update = docker(['update', '-m', '64m', '--memory-swap', '128m', c]);
    assert.equal(update.code, 0, update.stderr);
    assert.equal(docker(['exec', c, 'cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes']).stdout, `${64 * 1024 * 1024}\n`);
    docker(['rm', '-f', c]);
  });

  it('-m, --cpus and --pids-limit', () => {
    const r = runHutch(['--network', 'none', '-m', '96m', '--cpus', '0.5', '--pids-limit', '33'], ['cat', '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/pids/pids.max']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').slice(0, 3), [String(96 * 1024 * 1024), '50000', '33']);
  });

  it('--user, --cap-drop, --read-only, --security-opt seccomp=FILE', () => {
    assert.equal(runHutch(['--network', 'none', '--user', '1000:100'], ['id']).stdout, 'uid=1000(user) gid=100(users) groups=100(users)\n');
    assert.match(runHutch(['--network', 'none', '--cap-drop', 'ALL', '--cap-add', 'KILL'], ['grep', 'CapEff', '/proc/self/status']).stdout, /CapEff:\s+0+20\n/);
    assert.match(runHutch(['--network', 'none', '--cap-drop', 'NET_RAW'], ['grep', 'CapBnd', '/proc/self/status']).stdout, /CapBnd:\s+0+a80405fb\n/, "Docker's defaults (a80425fb) less NET_RAW");
    const ro = runHutch(['--network', 'none', '--read-only'], ['sh', '-c', 'touch /file 2>&1; touch /tmp/file 2>&1 || true']);
    assert.match(ro.stdout, /touch: \/file: Read-only file system/);
    const profile = path.join(work, 'seccomp.json');
    fs.writeFileSync(profile, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 1 }] }));
    const sc = runHutch(['--network', 'none', '--security-opt', `seccomp=${profile}`], ['sh', '-c', 'mkdir /tmp/d 2>&1; grep Seccomp: /proc/self/status']);
    assert.match(sc.stdout, /mkdir: can't create directory '\/tmp\/d': Operation not permitted\nSeccomp:\s+2\n/);
    assert.match(runHutch(['--network', 'none'], ['grep', 'Seccomp:', '/proc/self/status']).stdout, /Seccomp:\s+2/, "Docker's default profile is loaded");
  });

  it('--network none and the default bridge', () => {
    const none = runHutch(['--network', 'none'], ['sh', '-c', 'ls /sys/class/net']);
    assert.equal(none.stdout, 'lo\n');
    const a = name('net');
    assert.equal(docker(['run', '-d', '--name', a, '--runtime', 'hutch', image, 'sleep', '1000']).code, 0);
    const ipA = inspect(a, '{{.NetworkSettings.IPAddress}}');
    assert.match(ipA, new RegExp(`^${daemon.subnet.replace(/\./g, '\\.')}\\.\\d+$`), 'an address on the test bridge');
    const b = runHutch([], ['sh', '-c', `ip -4 addr show eth0 | grep -o "inet [0-9.]*"; ip route | grep default; ping -c 1 -W 10 ${ipA} >/dev/null && echo reached`]);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, new RegExp(`inet ${daemon.subnet.replace(/\./g, '\\.')}\\.\\d+\\ndefault via ${daemon.subnet.replace(/\./g, '\\.')}\\.1 dev eth0 \\nreached\\n`));
    docker(['rm', '-f', a]);
  });
});
