import assert = require('node:assert/strict');
import { describe, it } from 'node:test';
import { flagBool, flagList, flagString, parseArgs, type FlagSpec } from '../../runtime/cli/args';
import { parseSignal } from '../../runtime/lifecycle/signals';

const specs: FlagSpec[] = [
  { name: 'bundle', short: 'b', type: 'string', help: '' },
  { name: 'detach', short: 'd', type: 'bool', help: '' },
  { name: 'env', short: 'e', type: 'list', help: '' },
];

describe('runc-style flags', () => {
  it('accepts --flag value, --flag=value, -flag value and short aliases', () => {
    for (const argv of [['--bundle', 'x'], ['--bundle=x'], ['-bundle', 'x'], ['-b', 'x'], ['-b=x']]) {
      assert.equal(flagString(parseArgs('t', argv, specs), 'bundle'), 'x', argv.join(' '));
    }
  });

  it('parses booleans with optional =true|false and flags after positionals', () => {
    const a = parseArgs('t', ['id', '-d'], specs);
    assert.equal(flagBool(a, 'detach'), true);
    assert.deepEqual(a.positionals, ['id']);
    assert.equal(flagBool(parseArgs('t', ['--detach=false'], specs), 'detach'), false);
  });

  it('collects list flags and stops at the first positional when asked', () => {
    const a = parseArgs('t', ['-e', 'A=1', '--env', 'B=2', 'id', 'sh', '-c', 'x'], specs, true);
    assert.deepEqual(flagList(a, 'env'), ['A=1', 'B=2']);
    assert.deepEqual(a.positionals, ['id', 'sh', '-c', 'x']);
  });

  it('names unknown flags and missing values', () => {
    assert.throws(() => parseArgs('t', ['--nope'], specs), /flag provided but not defined: -nope/);
    assert.throws(() => parseArgs('t', ['--bundle'], specs), /flag needs an argument: --bundle/);
  });

  it('parses signals by number, name and SIG name', () => {
    assert.equal(parseSignal('kill', '9'), 9);
    assert.equal(parseSignal('kill', 'KILL'), 9);
    assert.equal(parseSignal('kill', 'sigterm'), 15);
    assert.equal(parseSignal('kill', undefined), 15);
    assert.equal(parseSignal('kill', 'SIGRTMIN+2'), 36);
    assert.throws(() => parseSignal('kill', 'NOPE'), /unknown signal "NOPE"/);
  });
});
