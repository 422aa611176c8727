/**
 * The native launcher (bin/containerd-shim-hutch-v2) against the JS shim's own rules:
 * it must derive the very socket shim/cli/address.ts derives, speak the admin call the
 * TS server understands, and hand everything else to Node. Node is replaced here by a
 * stub (HUTCH_NODE) that reports how it was called, so a fallback cannot pass for an
 * answer.
 */
import assert = require('node:assert/strict');
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { hutch } from '../../proto/gen/admin';
import { containerd } from '../../proto/gen/task';
import { ADMIN_SERVICE } from '../../shim/admin/service';
import { groupOf, socketPathFor } from '../../shim/cli/address';
import { GROUPING_NOTE, shimGrouping } from '../../shim/cli/grouping';
import { toTimestamp } from '../../shim/timestamp';
import { Code, defineMethod, TtrpcError, TtrpcServer, type CallContext } from '../../shim/ttrpc';
import { REPO_ROOT, tempDir } from '../fixtures/env';

const LAUNCHER = path.join(REPO_ROOT, 'bin', 'containerd-shim-hutch-v2');
const FALLBACK = 3;
/** What the launcher execs: the bundle loader once scripts/bundle ran, else the compiled entry. */
const JS_SHIM = fs.existsSync(path.join(REPO_ROOT, 'dist', 'bundle', 'containerd-shim-hutch-v2.js'))
  ? path.join(REPO_ROOT, 'bin', 'containerd-shim-hutch-v2-node')
  : path.join(REPO_ROOT, 'dist', 'shim', 'cli', 'main.js');

describe('native launcher', () => {
  let dir: string;
  let sockDir: string;
  let fakeNode: string;
  let stateRoot: string;
  let n = 0;
  /** the launcher's configuration file (HUTCH_CONFIG), none by default */
  let configFile = '';

  before(() => {
    dir = tempDir('launcher');
    sockDir = path.join(dir, 's');
    fs.mkdirSync(sockDir);
    stateRoot = path.join(dir, 'state');
    // socketPathFor (the JS rule) reads it too
    process.env.HUTCH_SHIM_SOCKET_DIR = sockDir;
    fakeNode = path.join(dir, 'fake-node');
    // As a server (-socket in its arguments) it records how it was started in <dir>/server-<pid>; otherwise it reports a fallback.
    fs.writeFileSync(
      fakeNode,
      [
        '#!/bin/sh',
        'case " $* " in',
        `*" -socket "*) fds=$(for fd in 0 1 2 3; do readlink /proc/$$/fd/$fd; done); { printf '%s\\n' "$@"; echo "LISTEN_FD=$HUTCH_SHIM_LISTEN_FD"; echo "$fds"; cut -d' ' -f6 /proc/$$/stat; echo $$; } > ${dir}/server.tmp; mv ${dir}/server.tmp ${dir}/server; exit 0 ;;`,
        'esac',
        `printf 'NODE'; for a in "$@"; do printf ' %s' "$a"; done`,
        `exit ${FALLBACK}`,
      ].join('\n') + '\n',
      { mode: 0o755 },
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  function bundle(spec: string | undefined): string {
    const b = path.join(dir, `b${++n}`);
    fs.mkdirSync(b);
    if (spec !== undefined) fs.writeFileSync(path.join(b, 'config.json'), spec);
    return b;
  }

  /** Runs the launcher without blocking this process, whose servers must keep answering. */
  function launch(args: string[], cwd: string): Promise<{ status: number; stdout: Buffer; stderr: string }> {
    return new Promise((resolve, reject) => {
      const env = { ...process.env, HUTCH_SHIM_SOCKET_DIR: sockDir, HUTCH_NODE: fakeNode, HUTCH_SHIM_ROOT: stateRoot, HUTCH_CONFIG: configFile };
      const child = spawn(LAUNCHER, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', reject);
      child.on('close', (status) => resolve({ status: status ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
    });
  }

  async function listening(socketPath: string): Promise<net.Server> {
    const server = net.createServer((c) => c.destroy());
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return server;
  }

  const SPECS: [string, string | undefined][] = [
    ['no config.json', undefined],
    ['no annotations', '{"ociVersion":"1.0.2"}'],
    ['the CRI sandbox id', '{"annotations":{"io.kubernetes.cri.sandbox-id":"pod-1"}}'],
    ['the runc group before the sandbox id', '{"annotations":{"io.kubernetes.cri.sandbox-id":"pod-1","io.containerd.runc.v2.group":"grp"}}'],
    ['an empty runc group skipped', '{"annotations":{"io.containerd.runc.v2.group":"","io.kubernetes.cri.sandbox-id":"pod-2"}}'],
    ['escapes decoded', '{"annotations":{"io.kubernetes.cri.sandbox-id":"p\\u00e9\\ud83d\\ude00\\"\\\\\\/x"}}'],
    ['a lone surrogate as U+FFFD', '{"annotations":{"io.kubernetes.cri.sandbox-id":"a\\ud800b"}}'],
    ['raw UTF-8 kept', '{"annotations":{"io.kubernetes.cri.sandbox-id":"πød"}}'],
    ['the last duplicate key', '{"annotations":{"io.kubernetes.cri.sandbox-id":"first","io.kubernetes.cri.sandbox-id":"second"}}'],
    ['the last annotations object', '{"annotations":{"io.kubernetes.cri.sandbox-id":"gone"},"x":[1,{"annotations":{"io.kubernetes.cri.sandbox-id":"nested"}}],"annotations":{}}'],
    ['a non-string value ignored', '{"annotations":{"io.containerd.runc.v2.group":7,"io.kubernetes.cri.sandbox-id":"pod-3"}}'],
    ['annotations not an object', '{"annotations":["io.kubernetes.cri.sandbox-id"]}'],
    ['numbers, literals and nesting around it', ' {"a":-1.5e+3,"b":[true,false,null,{"c":{}}],"annotations":{"k":{"d":[0]},"io.kubernetes.cri.sandbox-id":"pod-4"}} \n'],
    ['valid JSON that is not an object', '[1,2]'],
  ];

  for (const [what, spec] of SPECS) {
    it(`start finds the live group shim like the JS shim: ${what}`, async () => {
      const b = bundle(spec);
      const address = '/run//x.sock/';
      const expected = socketPathFor(address, 'ns', groupOf('ctr-1', b));
      const server = await listening(expected);
      try {
        const r = await launch(['-namespace', 'ns', '-address', address, '-id', 'ctr-1', 'start'], b);
        assert.equal(r.status, 0, `launcher fell back: ${r.stdout.toString()} ${r.stderr}`);
        assert.equal(r.stdout.toString(), `unix://${expected}`);
        assert.equal(r.stderr, '');
        assert.equal(fs.readFileSync(path.join(b, 'address'), 'utf8'), `unix://${expected}`);
        assert.equal(fs.existsSync(path.join(b, '.address')), false);
      } finally {
        server.close();
      }
    });
  }

  it('starts the group shim itself when none listens: socket 0600 as fd 3, own session, stdio on /dev/null', async () => {
    const b = bundle('{}');
    // the default grouping (auto): no pod annotation, so the namespace's shim
    const expected = socketPathFor('/a', 'ns', groupOf('c-new', b));
    assert.equal(groupOf('c-new', b), '');
    fs.rmSync(path.join(dir, 'server'), { force: true });
    try {
      const r = await launch(['-namespace', 'ns', '-address', '/a', '-publish-binary', '/usr/bin/containerd', '-id', 'c-new', '-debug', 'start'], b);
      assert.equal(r.status, 0, r.stdout.toString() + r.stderr);
      assert.equal(r.stdout.toString(), `unix://${expected}`);
      assert.equal(r.stderr, '');
      assert.equal(fs.readFileSync(path.join(b, 'address'), 'utf8'), `unix://${expected}`);
      assert.equal(fs.statSync(expected).mode & 0o777, 0o600);
      // the launcher does not wait for its server: the record appears when the fake one ran
      for (let i = 0; i < 200 && !fs.existsSync(path.join(dir, 'server')); i++) await new Promise((res) => setTimeout(res, 10));
      const lines = fs.readFileSync(path.join(dir, 'server'), 'utf8').trim().split('\n');
      const [sessionId, pid] = lines.slice(-2);
      assert.deepEqual(lines.slice(0, 14), ['--no-warnings', JS_SHIM, '-namespace', 'ns', '-address', '/a', '-publish-binary', '/usr/bin/containerd', '-id', 'c-new', '-debug', '-socket', expected, 'LISTEN_FD=3']);
      assert.deepEqual(lines.slice(14, 17), ['/dev/null', '/dev/null', '/dev/null']);
      assert.match(lines[17], /^socket:\[\d+\]$/);
      assert.equal(sessionId, pid, 'its own session');
    } finally {
      fs.rmSync(expected, { force: true });
    }
  });

  it('hands start to Node, arguments unchanged, when it cannot start a server', async () => {
    const b = bundle('{}');
    // a socket directory that cannot be made
    const blocked = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocked, '');
    const env = { ...process.env, HUTCH_SHIM_SOCKET_DIR: blocked, HUTCH_NODE: fakeNode, HUTCH_SHIM_ROOT: stateRoot, HUTCH_CONFIG: '' };
    const r = await new Promise<{ status: number; stdout: string }>((resolve) => {
      const child = spawn(LAUNCHER, ['-namespace', 'ns', '-address', '/a', '-id', 'c', 'start'], { cwd: b, env, stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c));
      child.on('close', (status) => resolve({ status: status ?? -1, stdout: out }));
    });
    assert.equal(r.status, FALLBACK);
    assert.equal(r.stdout, `NODE --no-warnings ${JS_SHIM} -namespace ns -address /a -id c start`);
    assert.equal(fs.existsSync(path.join(b, 'address')), false);
  });

  it('hands start to Node when it cannot be sure of the spec', async () => {
    for (const spec of ['{"annotations":{"io.kubernetes.cri.sandbox-id":"p",}}', '\ufeff{}', '{"a":"\u0001"}', '{"a":1}x']) {
      const b = bundle(spec);
      const server = await listening(socketPathFor('/a', 'ns', 'c'));
      try {
        assert.equal((await launch(['-namespace', 'ns', '-address', '/a', '-id', 'c', 'start'], b)).status, FALLBACK, spec);
      } finally {
        server.close();
      }
    }
  });

  it('hands to Node whatever it does not know: -v, -h, unknown flags, no namespace, serving', async () => {
    const b = bundle('{}');
    for (const args of [['-v'], ['-h'], ['-namespace', 'ns', '-bogus', 'start'], ['-id', 'c', 'start'], ['-namespace', 'ns', '-id', 'c'], ['-namespace', 'ns', '-id']]) {
      const r = await launch(args, b);
      assert.equal(r.status, FALLBACK, args.join(' '));
      assert.ok(r.stdout.toString().endsWith(args.join(' ')), r.stdout.toString());
    }
  });

  describe('delete through the admin service', () => {
    let server: TtrpcServer;
    let sock: string;
    const seen: { req: hutch.shim.v1.DeleteRequest; ctx: CallContext }[] = [];
    let fail = false;

    before(async () => {
      sock = path.join(sockDir, 'admin');
      server = new TtrpcServer();
      server.register({
        serviceName: ADMIN_SERVICE,
        methods: {
          Delete: defineMethod(hutch.shim.v1.DeleteRequest, containerd.task.v2.DeleteResponse, (req, ctx) => {
            seen.push({ req, ctx });
            if (fail) throw new TtrpcError(Code.FailedPrecondition, 'no');
            return { pid: 4321, exitStatus: 137, exitedAt: toTimestamp(1_700_000_000_123) };
          }),
        },
      });
      await server.listen(sock);
    });
    after(() => server.close());

    it('prints the DeleteResponse the live shim returns, byte for byte', async () => {
      const b = bundle('{}');
      fs.writeFileSync(path.join(b, 'address'), `unix://${sock}\n`);
      seen.length = 0;
      fail = false;
      const r = await launch(['-namespace', 'k8s.io', '-address', '/a', '-id', 'ctr-9', '-bundle', b, '-debug', 'delete'], dir);
      assert.equal(r.status, 0, r.stdout.toString());
      const expected = containerd.task.v2.DeleteResponse.encode({ pid: 4321, exitStatus: 137, exitedAt: toTimestamp(1_700_000_000_123) }).finish();
      assert.deepEqual(r.stdout, Buffer.from(expected));
      assert.equal(r.stderr, '');
      const { req, ctx } = seen[0];
      assert.deepEqual([req.id, req.bundle, req.namespace], ['ctr-9', b, 'k8s.io']);
      assert.equal(ctx.namespace, 'k8s.io');
      assert.equal(ctx.streamId, 1);
      assert.ok(ctx.deadline !== undefined);
    });

    it('uses the working directory when -bundle is absent', async () => {
      const b = bundle('{}');
      fs.writeFileSync(path.join(b, 'address'), `unix://${sock}`);
      seen.length = 0;
      fail = false;
      assert.equal((await launch(['-namespace', 'ns', '-id', 'c', 'delete'], b)).status, 0);
      assert.equal(seen[0].req.bundle, fs.realpathSync(b));
    });

    it('hands delete to Node when the shim refuses, is gone, or there is no address, while the container has state', async () => {
      const b = bundle('{}');
      fs.mkdirSync(path.join(stateRoot, 'ns', 'c'), { recursive: true });
      fail = true;
      fs.writeFileSync(path.join(b, 'address'), `unix://${sock}`);
      assert.equal((await launch(['-namespace', 'ns', '-id', 'c', '-bundle', b, 'delete'], dir)).status, FALLBACK);
      fs.writeFileSync(path.join(b, 'address'), `unix://${path.join(sockDir, 'nobody')}`);
      assert.equal((await launch(['-namespace', 'ns', '-id', 'c', '-bundle', b, 'delete'], dir)).status, FALLBACK);
      fs.rmSync(path.join(b, 'address'));
      assert.equal((await launch(['-namespace', 'ns', '-id', 'c', '-bundle', b, 'delete'], dir)).status, FALLBACK);
    });
  });

  describe('delete with no shim to ask', () => {
    it('answers for a container the runtime no longer knows: pid 0, 137, now, like the JS cleanup', async () => {
      const b = bundle('{}');
      fs.mkdirSync(path.join(b, 'rootfs')); // a directory, not a mount point
      fs.writeFileSync(path.join(b, 'address'), `unix://${path.join(sockDir, 'exited-shim')}`);
      const before = Date.now();
      const r = await launch(['-namespace', 'ns', '-id', 'gone-1', '-bundle', b, 'delete'], dir);
      assert.equal(r.status, 0, r.stdout.toString());
      assert.equal(r.stderr, '');
      const answer = containerd.task.v2.DeleteResponse.decode(r.stdout);
      assert.equal(answer.pid, 0);
      assert.equal(answer.exitStatus, 137);
      const at = Number(answer.exitedAt!.seconds) * 1000 + Math.floor((answer.exitedAt!.nanos ?? 0) / 1e6);
      assert.ok(at >= before - 1000 && at <= Date.now() + 1000, `exited_at ${at}`);
      fs.rmSync(path.join(b, 'address'));
      assert.equal((await launch(['-namespace', 'ns', '-id', 'gone-1', '-bundle', b, 'delete'], dir)).status, 0, 'no address file either');
    });

    it('hands delete to Node while the runtime still has state for the container', async () => {
      const b = bundle('{}');
      fs.mkdirSync(path.join(stateRoot, 'ns', 'kept-1'), { recursive: true });
      assert.equal((await launch(['-namespace', 'ns', '-id', 'kept-1', '-bundle', b, 'delete'], dir)).status, FALLBACK);
    });

    it('hands delete to Node for ids it will not put in a path', async () => {
      const b = bundle('{}');
      for (const [ns, id] of [['ns', '..'], ['..', 'c'], ['ns', 'a/b']]) {
        assert.equal((await launch(['-namespace', ns, '-id', id, '-bundle', b, 'delete'], dir)).status, FALLBACK, `${ns} ${id}`);
      }
    });

    it('hands delete to Node while <bundle>/rootfs is still mounted', { skip: process.getuid?.() !== 0 && 'mounting needs root' }, async () => {
      const b = bundle('{}');
      const rootfs = path.join(b, 'rootfs');
      fs.mkdirSync(rootfs);
      const { execFileSync } = await import('node:child_process');
      execFileSync('mount', ['-t', 'tmpfs', 'none', rootfs]);
      try {
        assert.equal((await launch(['-namespace', 'ns', '-id', 'mounted-1', '-bundle', b, 'delete'], dir)).status, FALLBACK);
      } finally {
        execFileSync('umount', [rootfs]);
      }
    });
  });

  describe('grouping policy (shim.group in the configuration file)', () => {
    const sandboxSpec = '{"annotations":{"io.kubernetes.cri.sandbox-id":"pod-7"}}';
    let saved: Record<string, string | undefined>;

    before(() => {
      saved = { HUTCH_CONFIG: process.env.HUTCH_CONFIG, HUTCH_SHIM_ROOT: process.env.HUTCH_SHIM_ROOT };
      process.env.HUTCH_SHIM_ROOT = stateRoot;
    });
    after(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      configFile = '';
    });

    /** Writes the configuration and lets the JS start resolve it (which leaves the launcher's note). */
    function configure(text: string): string {
      configFile = path.join(dir, `config-${++n}.json`);
      fs.writeFileSync(configFile, text);
      process.env.HUTCH_CONFIG = configFile;
      return shimGrouping();
    }

    for (const [grouping, group] of [
      ['namespace', ''],
      ['container', 'ctr-2'],
      ['pod', 'pod-7'],
      ['auto', 'pod-7'],
    ] as const) {
      it(`start finds the group shim under "${grouping}", as the JS shim names it`, async () => {
        assert.equal(configure(JSON.stringify({ shim: { group: grouping } })), grouping);
        const b = bundle(sandboxSpec);
        assert.equal(groupOf('ctr-2', b, grouping), group);
        const expected = socketPathFor('/a', 'ns', group);
        const server = await listening(expected);
        try {
          const r = await launch(['-namespace', 'ns', '-address', '/a', '-id', 'ctr-2', 'start'], b);
          assert.equal(r.status, 0, `launcher fell back: ${r.stdout.toString()}`);
          assert.equal(r.stdout.toString(), `unix://${expected}`);
        } finally {
          server.close();
        }
      });
    }

    it('hands start to Node once the configuration file changed, until the JS shim read it again', async () => {
      configure(JSON.stringify({ shim: { group: 'namespace' } }));
      const b = bundle(sandboxSpec);
      const server = await listening(socketPathFor('/a', 'ns', ''));
      try {
        fs.writeFileSync(configFile, JSON.stringify({ shim: { group: 'namespace' } }) + '\n');
        assert.equal((await launch(['-namespace', 'ns', '-address', '/a', '-id', 'ctr-3', 'start'], b)).status, FALLBACK);
        shimGrouping();
        assert.equal((await launch(['-namespace', 'ns', '-address', '/a', '-id', 'ctr-3', 'start'], b)).status, 0);
        fs.rmSync(path.join(stateRoot, GROUPING_NOTE));
        assert.equal((await launch(['-namespace', 'ns', '-address', '/a', '-id', 'ctr-3', 'start'], b)).status, FALLBACK, 'no note');
      } finally {
        server.close();
      }
    });

    it('rejects a bad shim section with one line naming the key', () => {
      assert.throws(() => configure(JSON.stringify({ shim: { group: 'pods' } })), /shim\.group: must be one of auto, container, pod, namespace, not "pods"/);
      assert.throws(() => configure(JSON.stringify({ shim: { grouping: 'pod' } })), /shim\.grouping: unknown key \(known: group\)/);
      assert.throws(() => configure(JSON.stringify({ shim: 'pod' })), /shim: must be an object, not the string "pod"/);
    });
  });
});
