import assert = require('node:assert/strict');
import { describe, it } from 'node:test';

import { goJoin } from '../../shim/cli/address';
import { FlagError, parseShimFlags } from '../../shim/cli/flags';

describe('shim flags, as Go’s flag package reads them', () => {
  it('reads containerd’s start command line', () => {
    const f = parseShimFlags(['-namespace', 'k8s.io', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id', 'abc', 'start']);
    assert.deepEqual(
      [f.namespace, f.address, f.publishBinary, f.id, f.action, f.debug],
      ['k8s.io', '/run/containerd/containerd.sock', '/usr/bin/containerd', 'abc', 'start', false],
    );
  });

  it('takes one or two dashes and -f=v as well as -f v', () => {
    const f = parseShimFlags(['--namespace=ns', '-id=x', '--bundle', '/b', '--debug', 'delete']);
    assert.deepEqual([f.namespace, f.id, f.bundle, f.debug, f.action], ['ns', 'x', '/b', true, 'delete']);
  });

  it('gives bool flags no separate value: "-debug false" leaves "false" as the action', () => {
    assert.equal(parseShimFlags(['-debug=false', 'start']).debug, false);
    const f = parseShimFlags(['-debug', 'false']);
    assert.deepEqual([f.debug, f.action], [true, 'false']);
  });

  it('stops at the first non-flag and at --', () => {
    const f = parseShimFlags(['-namespace', 'ns', 'start', '-id', 'late']);
    assert.deepEqual([f.action, f.id, f.rest], ['start', '', ['-id', 'late']]);
    const g = parseShimFlags(['-namespace', 'ns', '--', '-id']);
    assert.equal(g.action, '-id');
  });

  it('serves when no action is given, and keeps the -socket path', () => {
    const f = parseShimFlags(['-namespace', 'ns', '-socket', '/run/s']);
    assert.deepEqual([f.action, f.socket], ['', '/run/s']);
  });

  it('rejects what Go rejects, naming the flag', () => {
    assert.throws(() => parseShimFlags(['-nope']), new FlagError('flag provided but not defined: -nope'));
    assert.throws(() => parseShimFlags(['-id']), new FlagError('flag needs an argument: -id'));
    assert.throws(() => parseShimFlags(['---id', 'x']), new FlagError('bad flag syntax: ---id'));
    assert.throws(() => parseShimFlags(['-debug=maybe']), /invalid boolean value "maybe" for -debug/);
  });

  it('knows -v and -h', () => {
    assert.equal(parseShimFlags(['-v']).version, true);
    assert.equal(parseShimFlags(['-help']).help, true);
  });
});

describe('the socket name’s path join, as Go’s filepath.Join', () => {
  it('cleans like Go: no double or trailing slashes, "." and ".." resolved', () => {
    assert.equal(goJoin('/run/containerd/containerd.sock', 'default', 'c1'), '/run/containerd/containerd.sock/default/c1');
    assert.equal(goJoin('/a//b/', './ns', '../g'), '/a/b/g');
    assert.equal(goJoin('/run/x.sock', 'ns', 'g/'), '/run/x.sock/ns/g');
    assert.equal(goJoin('', 'ns', 'g'), 'ns/g');
    assert.equal(goJoin('a', '..', '..'), '..');
  });
});
