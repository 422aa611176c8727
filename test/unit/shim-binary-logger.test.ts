import assert = require('node:assert/strict');
import { describe, it } from 'node:test';

import { loggerCommand } from '../../shim/task/binary-logger';

describe('binary:// logging URIs, as containerd turns them into a command line', () => {
  it('runs the path with each query key and its value as arguments', () => {
    assert.deepEqual(loggerCommand('create', 'binary:///usr/local/bin/log-driver?tag=web&flag='), { path: '/usr/local/bin/log-driver', args: ['tag', 'web', 'flag', ''] });
    assert.deepEqual(loggerCommand('create', 'binary:///opt/my%20logger'), { path: '/opt/my logger', args: [] });
  });

  it('refuses a logger that is not named by an absolute path, naming the URI', () => {
    assert.throws(() => loggerCommand('create', 'binary://relative/logger'), /binary:\/\/relative\/logger.*absolute path/);
    assert.throws(() => loggerCommand('create', 'binary://'), /absolute path/);
  });
});
