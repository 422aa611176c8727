// hutch wrap: reading runc-style command lines (the command, bundle, id, log, preserved fds).
import assert = require('node:assert/strict');
import { describe, it } from 'node:test';
import { parseRuntimeArgs } from '../../runtime/wrap';

describe('wrap: runtime command lines', () => {
  it('containerd-shim-runc-v2 style create', () => {
    assert.deepEqual(
      parseRuntimeArgs(['--root', '/run/containerd/runc/k8s.io', '--log', '/run/x/log.json', '--log-format', 'json', 'create', '--bundle', '/run/b', '--pid-file', '/run/b/init.pid', 'abc']),
      { command: 'create', bundle: '/run/b', id: 'abc', log: '/run/x/log.json', logFormat: 'json', preserveFds: 0 },
    );
  });
  it('Docker/podman style: -b, --flag=value, booleans, preserve-fds', () => {
    assert.deepEqual(parseRuntimeArgs(['--systemd-cgroup', '--root=/r', 'create', '-b', 'bundle', '--no-pivot', '--preserve-fds=2', '--console-socket', '/s', 'id1']), {
      command: 'create',
      bundle: 'bundle',
      id: 'id1',
      preserveFds: 2,
    });
    assert.deepEqual(parseRuntimeArgs(['run', '--bundle=/b', '-d', 'x']), { command: 'run', bundle: '/b', id: 'x', preserveFds: 0 });
  });
  it('a container named like a command; other commands; no bundle (the cwd)', () => {
    assert.equal(parseRuntimeArgs(['create', 'create']).id, 'create');
    assert.deepEqual(parseRuntimeArgs(['state', 'abc']), { command: 'state', id: 'abc', preserveFds: 0 });
    assert.equal(parseRuntimeArgs(['create', 'abc']).bundle, undefined);
  });
});
