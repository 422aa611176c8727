// hooks.d injector: each `when` rule and stage, precedence and order, legacy 0.1.0 files,
// and clear errors for invalid files — golden specs, no root needed.
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { HooksDirInjector, hasBindMounts, parseHookFile } from '../../plugins/injectors/hooksd';
import type { Spec } from '../../runtime/spec/types';
import { tempDir } from '../fixtures/env';

const root = tempDir('hooksd');
after(() => fs.rmSync(root, { recursive: true, force: true }));

// A real program for hook.path: hooks whose program is missing are skipped.
const HOOK = '/bin/true';
const silent = { log: { debug: () => undefined, info: () => undefined, warn: () => undefined } };

function dirs(files: Record<string, Record<string, unknown> | string>, ...names: string[]): string[] {
  const base = fs.mkdtempSync(path.join(root, 'case-'));
  const out = names.map((n) => path.join(base, n));
  for (const [rel, body] of Object.entries(files)) {
    const file = path.join(base, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof body === 'string' ? body : JSON.stringify(body));
  }
  return out;
}

function spec(args = ['sh'], mounts: Spec['mounts'] = []): Spec {
  return { ociVersion: '1.0.2', process: { user: { uid: 0, gid: 0 }, cwd: '/', args }, root: { path: 'rootfs' }, mounts };
}

function inject(d: string[], s: Spec, annotations: Record<string, string> = {}, prestartStage: 'prestart' | 'createRuntime' = 'prestart'): Spec {
  return new HooksDirInjector({ dirs: d, prestartStage }, silent).inject(structuredClone(s), { id: 'c1', bundle: '/b', annotations });
}

const v1 = (when: Record<string, unknown>, stages: string[], args?: string[]): Record<string, unknown> => ({
  version: '1.0.0',
  hook: { path: HOOK, ...(args ? { args } : {}) },
  when,
  stages,
});

describe('hooks.d when rules (1.0.0)', () => {
  it('always: true injects into every listed stage; false never', () => {
    const d = dirs({ 'hooks/a.json': v1({ always: true }, ['prestart', 'poststop'], ['true', 'a']), 'hooks/b.json': v1({ always: false }, ['prestart']) }, 'hooks');
    assert.deepEqual(inject(d, spec()).hooks, {
      prestart: [{ path: HOOK, args: ['true', 'a'] }],
      poststop: [{ path: HOOK, args: ['true', 'a'] }],
    });
  });

  it('every stage goes where it says', () => {
    const stages = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'];
    const d = dirs({ 'hooks/all.json': v1({ always: true }, stages) }, 'hooks');
    const hooks = inject(d, spec()).hooks!;
    assert.deepEqual(Object.keys(hooks).sort(), [...stages].sort());
    for (const s of stages) assert.deepEqual(hooks[s as keyof typeof hooks], [{ path: HOOK }]);
  });

  it('prestart hooks can be placed into createRuntime (podman 5 behaviour)', () => {
    const d = dirs({ 'hooks/a.json': v1({ always: true }, ['prestart']) }, 'hooks');
    assert.deepEqual(inject(d, spec(), {}, 'createRuntime').hooks, { createRuntime: [{ path: HOOK }] });
  });

  it('annotations: key and value regexes, unanchored, all pairs must match', () => {
    const d = dirs(
      {
        'hooks/one.json': v1({ annotations: { 'example\\.com/gpu': 'yes' } }, ['prestart'], ['true', 'one']),
        'hooks/two.json': v1({ annotations: { '^a$': '^1$', '^b$': '^2$' } }, ['prestart'], ['true', 'two']),
      },
      'hooks',
    );
    const args = (a: Record<string, string>): string[] => (inject(d, spec(), a).hooks?.prestart ?? []).map((h) => h.args![1]);
    assert.deepEqual(args({ 'io.example.com/gpu-wanted': 'oh yes please' }), ['one'], 'substring match on key and value');
    assert.deepEqual(args({ 'example.com/gpu': 'no' }), []);
    assert.deepEqual(args({ a: '1' }), [], 'one of two pairs is not enough');
    assert.deepEqual(args({ a: '1', b: '2' }), ['two']);
    assert.deepEqual(args({ a: '1', b: '22' }), [], 'anchored value regex');
  });

  it('commands: regexes on process.args[0], any entry matches', () => {
    const d = dirs({ 'hooks/sd.json': v1({ commands: ['.*/init$', '.*/systemd$'] }, ['prestart']) }, 'hooks');
    assert.equal(inject(d, spec(['/sbin/init'])).hooks?.prestart?.length, 1);
    assert.equal(inject(d, spec(['/usr/lib/systemd/systemd', '--user'])).hooks?.prestart?.length, 1);
    assert.equal(inject(d, spec(['/sbin/initx'])).hooks, undefined);
    assert.equal(inject(d, spec(['sh', '/sbin/init'])).hooks, undefined, 'only args[0] counts');
  });

  it('commands decide alone once the earlier conditions matched; a failed earlier condition still excludes', () => {
    const d = dirs({ 'hooks/x.json': v1({ always: true, annotations: { '^k$': '^v$' }, commands: ['^sh$'] }, ['poststart']) }, 'hooks');
    assert.equal(inject(d, spec(['sh']), { k: 'v' }).hooks?.poststart?.length, 1);
    assert.equal(inject(d, spec(['ls']), { k: 'v' }).hooks, undefined);
    assert.equal(inject(d, spec(['sh']), { k: 'w' }).hooks, undefined);
  });

  it('hasBindMounts: true matches only when the container has host bind mounts', () => {
    const d = dirs({ 'hooks/bm.json': v1({ hasBindMounts: true }, ['createContainer']) }, 'hooks');
    const bind = [{ destination: '/data', type: 'bind', source: '/srv/data', options: ['rbind'] }];
    assert.equal(inject(d, spec(['sh'], bind)).hooks?.createContainer?.length, 1);
    assert.equal(inject(d, spec(['sh'], [{ destination: '/proc', type: 'proc', source: 'proc' }])).hooks, undefined);
    const engineOnly = [{ destination: '/etc/resolv.conf', type: 'bind', source: '/x/resolv.conf', options: ['rbind'] }];
    assert.equal(inject(d, spec(['sh'], engineOnly)).hooks, undefined, "an engine's own resolv.conf bind is not the caller's");
    assert.equal(inject(d, spec(['sh'], engineOnly), { 'io.hutch.hooks.has-bind-mounts': 'true' }).hooks?.createContainer?.length, 1);
    assert.equal(hasBindMounts(spec(['sh'], [{ destination: '/d', source: '/s', options: ['bind', 'ro'] }]), {}), true, 'a "bind" option without a type');
  });

  it('a when with no condition never matches', () => {
    const d = dirs({ 'hooks/none.json': { version: '1.0.0', hook: { path: HOOK }, when: {}, stages: ['prestart'] } }, 'hooks');
    assert.equal(inject(d, spec()).hooks, undefined);
  });

  it('Go regex syntax: (?i) flag and POSIX classes', () => {
    const d = dirs({ 'hooks/i.json': v1({ commands: ['(?i)^/BIN/[[:alpha:]]+$'] }, ['prestart']) }, 'hooks');
    assert.equal(inject(d, spec(['/bin/sh'])).hooks?.prestart?.length, 1);
  });
});

describe('hooks.d directories: precedence and order', () => {
  it('a file in a later directory masks the same name in an earlier one', () => {
    const d = dirs(
      {
        'usr/01-hook.json': v1({ always: true }, ['prestart'], ['true', 'from-usr']),
        'etc/01-hook.json': v1({ always: true }, ['prestart'], ['true', 'from-etc']),
        'usr/02-only-usr.json': v1({ always: true }, ['prestart'], ['true', 'only-usr']),
      },
      'usr',
      'etc',
    );
    assert.deepEqual(
      inject(d, spec()).hooks!.prestart!.map((h) => h.args![1]),
      ['from-etc', 'only-usr'],
    );
  });

  it('injects in the order of the lower-cased file names, across directories', () => {
    const d = dirs(
      {
        'a/02-another-hook.json': v1({ always: true }, ['prestart'], ['true', '02']),
        'b/01-UPPERCASE.json': v1({ always: true }, ['prestart'], ['true', '01-UPPER']),
        'a/01-my-hook.json': v1({ always: true }, ['prestart'], ['true', '01-my']),
        'a/notes.txt': 'not a hook',
        'a/10-b.json': v1({ always: true }, ['prestart'], ['true', '10']),
      },
      'a',
      'b',
    );
    assert.deepEqual(
      inject(d, spec()).hooks!.prestart!.map((h) => h.args![1]),
      ['01-my', '01-UPPER', '02', '10'],
    );
  });

  it('hooks are appended after hooks already in the spec; missing directories are fine', () => {
    const d = dirs({ 'x/a.json': v1({ always: true }, ['prestart']) }, 'x', 'does-not-exist');
    const s = spec();
    s.hooks = { prestart: [{ path: '/usr/bin/first' }] };
    assert.deepEqual(inject(d, s).hooks!.prestart, [{ path: '/usr/bin/first' }, { path: HOOK }]);
  });

  it('a hook whose program does not exist is skipped', () => {
    const d = dirs({ 'x/a.json': { version: '1.0.0', hook: { path: '/nonexistent/hook' }, when: { always: true }, stages: ['prestart'] } }, 'x');
    assert.equal(inject(d, spec()).hooks, undefined);
  });
});

describe('hooks.d legacy 0.1.0', () => {
  it('hook/arguments/stage synonyms; any condition injects', () => {
    const d = dirs(
      {
        'x/legacy.json': { hook: HOOK, arguments: ['--debug'], stage: ['prestart'], cmd: ['^/sbin/init$'], annotation: ['fluid-dynamics'] },
      },
      'x',
    );
    assert.deepEqual(inject(d, spec(['/sbin/init'])).hooks, { prestart: [{ path: HOOK, args: [HOOK, '--debug'] }] });
    assert.equal(inject(d, spec(['sh']), { dept: 'fluid-dynamics' }).hooks?.prestart?.length, 1, 'annotation alone is enough (OR)');
    assert.equal(inject(d, spec(['sh']), { dept: 'optics' }).hooks, undefined);
  });

  it('explicit version 0.1.0 and hasbindmounts', () => {
    const def = parseHookFile(JSON.stringify({ version: '0.1.0', hook: HOOK, stages: ['poststop'], hasbindmounts: true }), '/x/l.json');
    assert.deepEqual(def.stages, ['poststop']);
    assert.equal(def.when.or, true);
  });
});

describe('hooks.d invalid files', () => {
  const cases: [string, unknown, RegExp][] = [
    ['bad JSON', '{ "version": ', /bad\.json: not valid JSON/],
    ['unknown version', { version: '2.0.0', hook: { path: HOOK }, when: { always: true }, stages: ['prestart'] }, /bad\.json: version: unrecognized hook version: "2\.0\.0"/],
    ['missing hook.path', { version: '1.0.0', hook: {}, when: { always: true }, stages: ['prestart'] }, /bad\.json: missing required property: hook\.path/],
    ['relative hook.path', { version: '1.0.0', hook: { path: 'bin/x' }, when: { always: true }, stages: ['prestart'] }, /bad\.json: hook\.path: not an absolute path/],
    ['missing stages', { version: '1.0.0', hook: { path: HOOK }, when: { always: true } }, /bad\.json: missing required property: stages/],
    ['unknown stage', { version: '1.0.0', hook: { path: HOOK }, when: { always: true }, stages: ['prestart', 'prestop'] }, /bad\.json: stages\[1\]: unknown stage "prestop"/],
    ['bad regex', { version: '1.0.0', hook: { path: HOOK }, when: { commands: ['('] }, stages: ['prestart'] }, /bad\.json: when\.commands\[0\]: invalid regular expression "\("/],
    ['bad timeout', { version: '1.0.0', hook: { path: HOOK, timeout: 0 }, when: { always: true }, stages: ['prestart'] }, /bad\.json: hook\.timeout: must be a whole number of seconds > 0/],
    ['legacy stage and stages', { hook: HOOK, stage: ['prestart'], stages: ['prestart'] }, /bad\.json: cannot set both 'stage' and 'stages'/],
  ];
  for (const [title, body, re] of cases) {
    it(title, () => {
      const d = dirs({ 'x/bad.json': typeof body === 'string' ? body : (body as Record<string, unknown>) }, 'x');
      assert.throws(() => inject(d, spec()), re);
    });
  }
});
