/**
 * containerd 1.6 drives containerd-shim-hutch-v2 (still without a task service): `ctr
 * run --runtime io.containerd.hutch.v2` makes containerd run our `start`, connect to
 * the printed address and call Create (Unimplemented for now), then Delete and
 * Shutdown; the shim exits, containerd runs our `delete` and removes the bundle, and
 * nothing of the shim is left.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { native } from '../../addon';
import { makeRootfs } from '../fixtures/busybox';
import { startContainerd, type Containerd } from '../fixtures/containerd';
import { containerId, isRoot, REPO_ROOT, RUN_ID, tempDir } from '../fixtures/env';

interface ShimLogLine {
  msg: string;
  method?: string;
  code?: string;
  id?: string;
}

/** Our shim's JSON log lines, which containerd copies from the `log` FIFO into its own log. */
function shimLog(cd: Containerd): ShimLogLine[] {
  return cd
    .log()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as ShimLogLine;
      } catch {
        return { msg: '' };
      }
    });
}

/** Serving shims for container `id` (they retitle themselves "containerd-shim-hutch-v2 … -id <id> …"). */
function shimProcesses(id: string): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmd.startsWith('containerd-shim-hutch-v2 ') && cmd.includes(` -id ${id} `)) out.push(`${pid} ${cmd}`);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Polls `check` until it returns true, at most `tries` times, yielding between tries. */
async function eventually(check: () => boolean, tries = 200, pauseMs = 50): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return check();
}

describe('containerd 1.6 runs containerd-shim-hutch-v2', { skip: !isRoot() && 'needs root to run containerd' }, () => {
  let cd: Containerd;
  let socketDir: string;
  let work: string;
  const namespace = `hutch-${RUN_ID}`;

  before(async () => {
    socketDir = tempDir('shim-s');
    work = tempDir('shim-ctr');
    makeRootfs(path.join(work, 'rootfs'));
    cd = await startContainerd('shim-contract', {
      pathPrefix: [path.join(REPO_ROOT, 'bin')],
      env: { HUTCH_SHIM_SOCKET_DIR: socketDir },
    });
  });

  after(async () => {
    // a failed run may leave a shim behind: end it (by pidfd, so a reused pid is safe)
    for (const line of shimProcesses(containerId('contract'))) {
      try {
        const fd = native().pidfdOpen(Number(line.split(' ')[0]));
        native().pidfdSendSignal(fd, 9);
        fs.closeSync(fd);
      } catch {
        // gone meanwhile
      }
    }
    await cd?.stop();
    fs.rmSync(socketDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('start → Create (Unimplemented) → Delete → Shutdown → delete, leaving nothing', async () => {
    const id = containerId('contract');
    const run = cd.ctr(
      // --rootfs: the first argument is a root directory, not an image
      ['-n', namespace, 'run', '--runtime', 'io.containerd.hutch.v2', '--null-io', '--fifo-dir', path.join(work, 'fifo'), '--rootfs', path.join(work, 'rootfs'), id, '/bin/true'],
      { allowFail: true },
    );
    try {
      assert.notEqual(run.status, 0);
      assert.match(run.stderr, /Create: not implemented yet/, run.stderr);

      // containerd connected to the address `start` printed and made these calls, in order
      const calls = (): string[] =>
        shimLog(cd)
          .filter((l) => l.msg === 'ttrpc call' && l.id === id)
          .map((l) => `${l.method}:${l.code}`);
      const create = calls().indexOf('Create:Unimplemented');
      const del = calls().indexOf('Delete:Unimplemented');
      assert.ok(create >= 0 && del > create, `calls seen: ${calls().join(', ')}`);

      // Shutdown: the shim exits by itself (containerd only closes the connection; the
      // log line of that call may be lost, as containerd stops copying the shim's log
      // when the connection closes), its socket goes, and containerd's run of our
      // `delete` lets it remove the bundle
      const bundle = path.join(cd.state, 'io.containerd.runtime.v2.task', namespace, id);
      assert.ok(await eventually(() => shimProcesses(id).length === 0), `shim still running: ${shimProcesses(id).join('\n')}`);
      const shutdown = calls().indexOf('Shutdown:OK');
      assert.ok(shutdown === -1 || shutdown > del, `calls seen: ${calls().join(', ')}`);
      assert.ok(!shimLog(cd).some((l) => l.msg === 'uncaught exception'), 'the shim crashed');
      assert.ok(await eventually(() => fs.readdirSync(socketDir).length === 0), `sockets left: ${fs.readdirSync(socketDir).join(' ')}`);
      assert.ok(await eventually(() => !fs.existsSync(bundle)), `bundle left: ${bundle}`);
      assert.doesNotMatch(cd.log(), /failed to clean up after shim disconnected|cleanup warnings/);
    } finally {
      cd.ctr(['-n', namespace, 'containers', 'rm', id], { allowFail: true });
      cd.ctr(['namespaces', 'rm', namespace], { allowFail: true });
    }
  });
});
