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
import { toTimestamp } from '../../shim/timestamp';
import { Code, defineMethod, TtrpcError, TtrpcServer, type CallContext } from '../../shim/ttrpc';
import { REPO_ROOT, tempDir } from '../fixtures/env';

const LAUNCHER = path.join(REPO_ROOT, 'bin', 'containerd-shim-hutch-v2');
const FALLBACK = 3;

describe('native launcher', () => {
  let dir: string;
  let sockDir: string;
  let fakeNode: string;
  let n = 0;

  before(() => {
    dir = tempDir('launcher');
    sockDir = path.join(dir, 's');
    fs.mkdirSync(sockDir);
    // socketPathFor (the JS rule) reads it too
    process.env.HUTCH_SHIM_SOCKET_DIR = sockDir;
    fakeNode = path.join(dir, 'fake-node');
    fs.writeFileSync(fakeNode, `#!/bin/sh\nprintf 'NODE'; for a in "$@"; do printf ' %s' "$a"; done\nexit ${FALLBACK}\n`, { mode: 0o755 });
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
      const child = spawn(LAUNCHER, args, { cwd, env: { ...process.env, HUTCH_SHIM_SOCKET_DIR: sockDir, HUTCH_NODE: fakeNode }, stdio: ['ignore', 'pipe', 'pipe'] });
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

  it('hands start to Node when no shim listens, with the arguments unchanged', async () => {
    const b = bundle('{}');
    const r = await launch(['-namespace', 'ns', '-address', '/a', '-id', 'c', 'start'], b);
    assert.equal(r.status, FALLBACK);
    assert.equal(r.stdout.toString(), `NODE --no-warnings ${path.join(REPO_ROOT, 'dist', 'shim', 'cli', 'main.js')} -namespace ns -address /a -id c start`);
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

    it('hands delete to Node when the shim refuses, is gone, or there is no address', async () => {
      const b = bundle('{}');
      fail = true;
      fs.writeFileSync(path.join(b, 'address'), `unix://${sock}`);
      assert.equal((await launch(['-namespace', 'ns', '-id', 'c', '-bundle', b, 'delete'], dir)).status, FALLBACK);
      fs.writeFileSync(path.join(b, 'address'), `unix://${path.join(sockDir, 'nobody')}`);
      assert.equal((await launch(['-namespace', 'ns', '-id', 'c', '-bundle', b, 'delete'], dir)).status, FALLBACK);
      fs.rmSync(path.join(b, 'address'));
      assert.equal((await launch(['-namespace', 'ns', '-id', 'c', '-bundle', b, 'delete'], dir)).status, FALLBACK);
    });
  });
});
