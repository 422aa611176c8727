/**
 * podman drives hutch (`--runtime <hutch>`, through conmon): run, run -d, exec (with
 * and without a terminal), stop, rm. podman gets its own storage root, run root,
 * temporary directory, file locks and network configuration (containers.conf of the
 * test's own). hutch keeps its default state root (/run/hutch): podman 4.3 leaves
 * --runtime-flag out of the `delete` it runs after a container exits.
 * podman's default rlimits need CAP_SYS_RESOURCE, which root lacks here: --ulimit.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { HUTCH_BIN, RUN_ID, tempDir } from '../fixtures/env';
import { busyboxImage } from '../fixtures/oci-image';
import { parentCgroupExists, PODMAN, removeParentCgroup, removeTree, run, waitUntil, type Run } from '../fixtures/peers';

const available = fs.existsSync(PODMAN);
const work = tempDir('oci-podman');
const image = `localhost/hutch-busybox:${RUN_ID}`;
const ULIMITS = ['--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];
let n = 0;

const conf = path.join(work, 'containers.conf');
const hutchRoot = '/run/hutch';
const hutchRootExisted = fs.existsSync(hutchRoot);
/** podman with cgroupfs puts containers (and conmon) under /libpod_parent and leaves it there */
const libpodCgroupExisted = parentCgroupExists('libpod_parent');

function podman(args: string[], input?: string): Run {
  return run(
    PODMAN,
    [
      '--root', path.join(work, 'storage'),
      '--runroot', path.join(work, 'run'),
      '--runtime', HUTCH_BIN,
      ...args,
    ],
    { input, env: { ...process.env, CONTAINERS_CONF: conf } },
  );
}

function name(what: string): string {
  return `h${RUN_ID}-${what}${n++}`;
}

describe('podman with --runtime hutch', { skip: !available && 'podman is not installed' }, () => {
  before(() => {
    // file locks in tmp_dir (not /dev/shm/libpod_lock), CNI config of our own, nothing under /run/containers
    fs.writeFileSync(
      conf,
      [
        '[engine]',
        'lock_type = "file"',
        `tmp_dir = "${path.join(work, 'tmp')}"`,
        'events_logger = "file"',
        'cgroup_manager = "cgroupfs"',
        '[network]',
        'network_backend = "cni"',
        `network_config_dir = "${path.join(work, 'net')}"`,
        '',
      ].join('\n'),
    );
    const img = busyboxImage(path.join(work, 'image'), image);
    const imported = podman(['import', '--change', 'CMD ["sh"]', img.rootfsTar, image]);
    assert.equal(imported.code, 0, imported.stderr);
    const info = podman(['info', '--format', '{{.Host.OCIRuntime.Path}}']);
    assert.equal(info.stdout.trim(), HUTCH_BIN, 'podman uses hutch');
  });

  after(() => {
    const ids = podman(['ps', '-aq']).stdout.split('\n').filter(Boolean);
    if (ids.length) podman(['rm', '-f', '-t', '0', ...ids]);
    podman(['rmi', '-a', '-f']);
    removeTree(work);
    if (!libpodCgroupExisted) removeParentCgroup('libpod_parent');
    if (!hutchRootExisted) {
      try {
        fs.rmdirSync(hutchRoot); // only when empty: other containers' state is not ours
      } catch {
        // not there, or in use
      }
    }
  });

  it('run: output, exit status, hutch as the runtime', () => {
    const c = name('run');
    const r = podman(['run', '--name', c, '--network', 'none', ...ULIMITS, image, 'sh', '-c', 'echo out; echo err >&2; id -u; hostname; exit 3']);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, `out\n0\n${podman(['inspect', '--format', '{{.Config.Hostname}}', c]).stdout.trim()}\n`);
    assert.match(r.stderr, /err\n/);
    const id = podman(['inspect', '--format', '{{.Id}}', c]).stdout.trim();
    assert.equal(podman(['rm', c]).code, 0);
    assert.equal(fs.existsSync(path.join(hutchRoot, id)), false, "hutch's state is gone after rm");
    const missing = podman(['run', '--rm', '--network', 'none', ...ULIMITS, image, 'no-such-program']);
    assert.equal(missing.code, 127, missing.stderr);
    assert.match(missing.stderr, /executable file not found in \$PATH/);
  });

  it('run -d, exec (also with a terminal), stop, rm', async () => {
    const c = name('detached');
    const started = podman(['run', '-d', '--name', c, '--network', 'none', ...ULIMITS, image, 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done']);
    assert.equal(started.code, 0, started.stderr);
    const id = started.stdout.trim();
    const state = JSON.parse(fs.readFileSync(path.join(hutchRoot, id, 'state.json'), 'utf8'));
    assert.equal(state.id, id, "hutch's state of the container");
    const e = podman(['exec', c, 'sh', '-c', 'echo in exec; cat /proc/1/cmdline | tr "\\0" " "']);
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /^in exec\nsh -c trap "exit 0" TERM/);
    assert.equal(podman(['exec', c, 'sh', '-c', 'exit 5']).code, 5);
    assert.equal(podman(['exec', '--user', 'nobody', '--workdir', '/tmp', c, 'sh', '-c', 'echo $(id -un) $PWD']).stdout, 'nobody /tmp\n');
    const tty = podman(['exec', '-t', c, 'sh', '-c', 'tty; echo done']);
    assert.equal(tty.code, 0, tty.stderr);
    assert.match(tty.stdout, /^\/dev\/pts\/\d+\r\ndone\r\n$/, 'conmon received the pty over --console-socket');
    const missing = podman(['exec', c, 'no-such-program']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stdout + missing.stderr, /executable file not found in \$PATH/);
    const stopped = podman(['stop', '-t', '30', c]);
    assert.equal(stopped.code, 0, stopped.stderr);
    await waitUntil('the container to exit', () => podman(['inspect', '--format', '{{.State.Status}}', c]).stdout.trim() === 'exited');
    assert.equal(podman(['inspect', '--format', '{{.State.ExitCode}}', c]).stdout.trim(), '0', 'SIGTERM reached the trap');
    assert.equal(podman(['rm', c]).code, 0);
    assert.equal(fs.existsSync(path.join(hutchRoot, id)), false);
  });
});
