/**
 * Terminals: `process.terminal` with --console-socket (create and exec -d): the pty
 * master arrives over SCM_RIGHTS and a shell is driven through it, as runc's recvtty
 * does; and `run`/`exec` in the foreground relaying the pty themselves: raw input,
 * window size (at start and on SIGWINCH), ^C, exit status.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { native } from '../../addon';
import { makeBundle } from '../fixtures/busybox';
import { containerId, HUTCH_BIN, tempDir } from '../fixtures/env';
import { errorMessage, hutch, leftovers, waitForStatus } from '../fixtures/hutch';
import { ConsoleReceiver, PtySession, spawnInPty } from '../fixtures/terminal';

const work = tempDir('oci-terminal');
const root = path.join(work, 'state');
let n = 0;

after(() => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) hutch(root, ['delete', '--force', id]);
});

function terminalBundle(args: string[], edit?: (spec: any) => void): { id: string; bundle: string } {
  // `any`: tests reshape the spec freely
  const id = containerId(`tty${n++}`);
  const bundle = makeBundle(path.join(work, id), args, (s) => {
    s.process.terminal = true;
    edit?.(s);
  });
  return { id, bundle };
}

describe('terminals', () => {
  it('create sends the pty master over --console-socket; a shell is driven through it', async () => {
    const { id, bundle } = terminalBundle(['sh'], (s) => (s.process.consoleSize = { height: 25, width: 132 }));
    const receiver = await ConsoleReceiver.listen(path.join(work, `${id}.sock`));
    try {
      const created = hutch(root, ['create', '--bundle', bundle, '--console-socket', receiver.path, id]);
      assert.equal(created.code, 0, created.stderr);
      const master = await receiver.next();
      assert.equal(master.name, '/dev/ptmx', "runc's message: the master's name, one fd");
      const session = new PtySession(master.fd);
      assert.equal(hutch(root, ['start', id]).code, 0);
      session.write('echo $((6*7)); tty; stty size; readlink /proc/self/fd/0; ls -l /dev/console | cut -c1\n');
      await session.waitFor(/42\r\n\/dev\/pts\/0\r\n25 132\r\n\/dev\/pts\/0\r\nc\r\n/);
      session.write('exit 3\n');
      await session.waitForHangup();
      session.close();
      await waitForStatus(root, id, 'stopped', { tries: 1000, pauseMs: 10 });
      assert.equal(hutch(root, ['delete', id]).code, 0);
      assert.deepEqual(leftovers(root, id, bundle), []);
    } finally {
      receiver.close();
    }
  });

  it('exec -d -t sends the master of a new pty over --console-socket', async () => {
    const id = containerId(`tty${n++}`);
    const bundle = makeBundle(path.join(work, id), ['sleep', '100000']);
    assert.equal(hutch(root, ['run', '-d', '-b', bundle, id]).code, 0);
    const receiver = await ConsoleReceiver.listen(path.join(work, `${id}.sock`));
    try {
      const pidFile = path.join(work, `${id}.exec.pid`);
      const r = hutch(root, ['exec', '-d', '-t', '--console-socket', receiver.path, '--pid-file', pidFile, id, 'sh']);
      assert.equal(r.code, 0, r.stderr);
      const session = new PtySession((await receiver.next()).fd);
      session.write('tty; echo pid=$$; echo $((7*6))\n');
      await session.waitFor(/\/dev\/pts\/\d+\r\npid=\d+\r\n42\r\n/);
      const execPid = Number(fs.readFileSync(pidFile, 'utf8'));
      assert.equal(fs.readlinkSync(`/proc/${execPid}/ns/mnt`), fs.readlinkSync(`/proc/${JSON.parse(hutch(root, ['state', id]).stdout).pid}/ns/mnt`));
      session.write('exit\n');
      await session.waitForHangup();
      session.close();
    } finally {
      receiver.close();
      hutch(root, ['delete', '--force', id]);
    }
    assert.deepEqual(leftovers(root, id, bundle), []);
  });

  it('run in the foreground relays the terminal: window size, SIGWINCH, ^C, exit status', async () => {
    const { id, bundle } = terminalBundle(['sh']);
    // setsid -c: the pty becomes hutch's controlling terminal, so resizing it sends SIGWINCH as in a real session (-w: its status)
    const { session, exited } = spawnInPty('setsid', ['-w', '-c', HUTCH_BIN, '--root', root, 'run', '--bundle', bundle, id], { rows: 30, cols: 100 });
    try {
      session.write('stty size\n');
      await session.waitFor(/30 100\r\n/);
      native().setWindowSize(session.master, 40, 120);
      // the shell learns the size the moment it asks; ask until the relay has passed it on
      for (let i = 0; i < 200 && !/40 120\r\n/.test(session.output); i++) {
        session.write('stty size\n');
        await session.waitFor(new RegExp(`(stty size[\\s\\S]*){${i + 2}}`));
      }
      assert.match(session.output, /40 120\r\n/);
      session.write('sleep 1000\n');
      await session.waitFor(/sleep 1000\r\n/);
      // ^C only once sleep runs: while the shell still edits its line, ^C is just a character
      const init = JSON.parse(hutch(root, ['state', id]).stdout).pid;
      const sleeping = (): boolean =>
        fs
          .readFileSync(`/proc/${init}/task/${init}/children`, 'utf8')
          .split(' ')
          .filter(Boolean)
          .some((c) => fs.existsSync(`/proc/${c}/comm`) && fs.readFileSync(`/proc/${c}/comm`, 'utf8') === 'sleep\n');
      for (let i = 0; i < 1000 && !sleeping(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(sleeping(), 'sleep runs in the foreground of the container\'s terminal');
      session.write('\x03'); // ^C, raw: the container's terminal turns it into SIGINT
      session.write('echo after-interrupt\n');
      await session.waitFor(/\r\nafter-interrupt\r\n/);
      session.write('exit 7\n');
      assert.equal(await exited, 7);
    } finally {
      session.close();
    }
    assert.deepEqual(leftovers(root, id, bundle), [], 'run removed the container');
  });

  it('exec -t in the foreground relays the terminal and returns the status', async () => {
    const id = containerId(`tty${n++}`);
    const bundle = makeBundle(path.join(work, id), ['sleep', '100000']);
    assert.equal(hutch(root, ['run', '-d', '-b', bundle, id]).code, 0);
    try {
      const { session, exited } = spawnInPty(HUTCH_BIN, ['--root', root, 'exec', '-t', id, 'sh'], { rows: 21, cols: 77 });
      session.write('tty; stty size; echo $TERM\n');
      await session.waitFor(/\/dev\/pts\/\d+\r\n21 77\r\nxterm\r\n/);
      session.write('exit 9\n');
      assert.equal(await exited, 9);
      session.close();
      const plain = hutch(root, ['exec', '-t', id, 'sh', '-c', 'tty; echo done']);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /^\/dev\/pts\/\d+\r\ndone\r\n$/, 'stdin not a terminal: still relayed');
    } finally {
      hutch(root, ['delete', '--force', id]);
    }
  });

  it('bad console input: a path that is not a socket, a detached terminal without one', () => {
    const { id, bundle } = terminalBundle(['sh']);
    const notSocket = path.join(work, 'plain-file');
    fs.writeFileSync(notSocket, '');
    let r = hutch(root, ['create', '--bundle', bundle, '--console-socket', notSocket, id]);
    assert.equal(r.code, 1);
    assert.match(errorMessage(r.stderr), /--console-socket: .*plain-file: not a socket/);
    assert.deepEqual(leftovers(root, id, bundle), []);
    r = hutch(root, ['create', '--bundle', bundle, id]);
    assert.equal(r.code, 1);
    assert.match(errorMessage(r.stderr), /cannot allocate tty if hutch will detach without setting console socket/);
    r = hutch(root, ['run', '-d', '--bundle', bundle, id]);
    assert.equal(r.code, 1);
    assert.deepEqual(leftovers(root, id, bundle), []);
  });
});
