// CDI: spec file validation (unknown fields, versions, names), the edit rules on golden
// specs, directory priority and conflicts, and device requests by annotation. The
// stand-in host device is /dev/null (char 1:3), which every machine has.
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { readCdiDirs } from '../../plugins/injectors/cdi/cache';
import { applyContainerEdits } from '../../plugins/injectors/cdi/edits';
import { CdiInjector } from '../../plugins/injectors/cdi/injector';
import { parseQualifiedName, requestedDevices } from '../../plugins/injectors/cdi/names';
import { parseCdiSpec } from '../../plugins/injectors/cdi/spec-file';
import type { Spec } from '../../runtime/spec/types';
import { tempDir } from '../fixtures/env';

const root = tempDir('cdi');
after(() => fs.rmSync(root, { recursive: true, force: true }));
const silent = { log: { debug: () => undefined, info: () => undefined, warn: () => undefined } };

function spec(): Spec {
  return {
    ociVersion: '1.0.2',
    process: { user: { uid: 1000, gid: 1000 }, cwd: '/', args: ['sh'], env: ['PATH=/bin', 'MODE=old'] },
    root: { path: 'rootfs' },
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs' },
      { destination: '/data/a/b', type: 'bind', source: '/old', options: ['rbind'] },
      { destination: '/data', type: 'bind', source: '/old-data', options: ['rbind'] },
    ],
    linux: { resources: { devices: [{ allow: false, access: 'rwm' }] }, devices: [{ path: '/dev/hutch0', type: 'c', major: 9, minor: 9 }] },
  };
}

describe('CDI names', () => {
  it('qualified names', () => {
    assert.deepEqual(parseQualifiedName('vendor.com/class=dev0'), { vendor: 'vendor.com', class: 'class', name: 'dev0' });
    assert.deepEqual(parseQualifiedName('nvidia.com/gpu=0'), { vendor: 'nvidia.com', class: 'gpu', name: '0' });
    assert.match(parseQualifiedName('dev0') as string, /not a fully qualified CDI device name/);
    assert.match(parseQualifiedName('vendor.com/class=-x') as string, /invalid device name "-x"/);
    assert.match(parseQualifiedName('1vendor/class=x') as string, /invalid vendor "1vendor"/);
  });

  it('devices come from every cdi.k8s.io/ key (sorted) and io.hutch.cdi.devices, once each', () => {
    assert.deepEqual(
      requestedDevices({ 'io.hutch.cdi.devices': 'v.com/c=z, v.com/c=a', 'cdi.k8s.io/b': 'v.com/c=b', 'cdi.k8s.io/a': 'v.com/c=a,v.com/c=b', other: 'x' }),
      ['v.com/c=a', 'v.com/c=b', 'v.com/c=z'],
    );
    assert.throws(() => requestedDevices({ 'cdi.k8s.io/x': 'gpu0' }), /annotation cdi\.k8s\.io\/x: "gpu0" is not a fully qualified CDI device name/);
  });
});

describe('CDI spec files', () => {
  const good = { cdiVersion: '0.5.0', kind: 'hutch.test/dev', devices: [{ name: 'dev0', containerEdits: { deviceNodes: [{ path: '/dev/x', hostPath: '/dev/null' }] } }] };
  const bad: [string, unknown, RegExp][] = [
    ['an unknown top-level field', { ...good, extra: 1 }, /f\.json: extra: unknown field/],
    ['an unknown nested field', { ...good, devices: [{ name: 'dev0', containerEdits: { deviceNodes: [{ path: '/dev/x', typ: 'c' }] } }] }, /devices\[0\]\.containerEdits\.deviceNodes\[0\]\.typ: unknown field/],
    ['a missing cdiVersion', { kind: 'a/b', devices: good.devices }, /f\.json: cdiVersion: required/],
    ['an unknown cdiVersion', { ...good, cdiVersion: '0.9.0' }, /cdiVersion: unsupported version "0\.9\.0"/],
    ['a cdiVersion older than the fields used', { ...good, cdiVersion: '0.3.0' }, /deviceNodes\[0\]\.hostPath: needs cdiVersion 0\.5\.0 or newer \(the file says 0\.3\.0\)/],
    ['a bad kind', { ...good, kind: 'nokind' }, /kind: "nokind" is not vendor\/class/],
    ['no devices', { ...good, devices: [] }, /devices: at least one device is required/],
    ['a device that edits nothing', { ...good, devices: [{ name: 'dev0', containerEdits: {} }] }, /device "dev0" edits nothing/],
    ['a device defined twice', { ...good, devices: [good.devices[0], good.devices[0]] }, /devices\[1\]\.name: device "dev0" is defined twice in this file/],
    ['a bad env entry', { ...good, containerEdits: { env: ['NOEQUALS'] } }, /containerEdits\.env\[0\]: invalid environment variable "NOEQUALS"/],
    ['a bad hook name', { ...good, containerEdits: { hooks: [{ hookName: 'prestop', path: '/x' }] } }, /hooks\[0\]\.hookName: invalid hook name "prestop"/],
    ['bad permissions', { ...good, devices: [{ name: 'd', containerEdits: { deviceNodes: [{ path: '/dev/x', permissions: 'rx' }] } }] }, /permissions: invalid permissions "rx"/],
  ];
  for (const [title, doc, re] of bad) {
    it(`rejects ${title}`, () => assert.throws(() => parseCdiSpec(JSON.stringify(doc), '/etc/cdi/f.json'), re));
  }

  it('reads YAML (1.1: 0666 is octal) and JSON alike', () => {
    const yaml = `cdiVersion: "0.6.0"\nkind: hutch.test/dev\nannotations: { a: b }\ndevices:\n  - name: dev0\n    containerEdits:\n      deviceNodes:\n        - { path: /dev/x, hostPath: /dev/null, fileMode: 0666 }\n`;
    const s = parseCdiSpec(yaml, '/etc/cdi/y.yaml');
    assert.equal(s.devices[0].containerEdits.deviceNodes![0].fileMode, 0o666);
    assert.throws(() => parseCdiSpec('cdiVersion: "0.5.0"\ncdiVersion: "0.6.0"\n', '/etc/cdi/dup.yaml'), /dup\.yaml: not valid YAML/);
    assert.throws(() => parseCdiSpec(yaml.replace('"0.6.0"', '"0.5.0"'), '/etc/cdi/y.yaml'), /annotations: needs cdiVersion 0\.6\.0/);
  });
});

describe('CDI container edits', () => {
  it('applies env, device nodes (stat of hostPath), allow rules, mounts (replace + depth sort), hooks, gids', () => {
    const out = applyContainerEdits(spec(), [
      { env: ['MODE=new', 'ADDED=1'], mounts: [{ hostPath: '/srv/a', containerPath: '/data', options: ['ro', 'bind'] }] },
      {
        deviceNodes: [
          { path: '/dev/hutch0', hostPath: '/dev/null' },
          { path: '/dev/blk', type: 'b', major: 7, minor: 1, permissions: 'r', uid: 0 },
          { path: '/dev/quiet', hostPath: '/dev/null', permissions: 'none' },
        ],
        mounts: [{ hostPath: '/srv/lib', containerPath: '/usr/lib/x', type: 'bind' }],
        hooks: [{ hookName: 'createContainer', path: '/usr/bin/h', args: ['h', '1'], timeout: 5 }],
        additionalGids: [0, 44, 44],
      },
    ]);
    assert.deepEqual(out.process!.env, ['PATH=/bin', 'MODE=new', 'ADDED=1']);
    assert.deepEqual(out.linux!.devices, [
      { path: '/dev/hutch0', type: 'c', major: 1, minor: 3, uid: 1000, gid: 1000 },
      { path: '/dev/blk', type: 'b', major: 7, minor: 1, uid: 0, gid: 1000 },
      { path: '/dev/quiet', type: 'c', major: 1, minor: 3, uid: 1000, gid: 1000 },
    ]);
    assert.deepEqual(out.linux!.resources!.devices, [
      { allow: false, access: 'rwm' },
      { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
      { allow: true, type: 'b', major: 7, minor: 1, access: 'r' },
    ]);
    assert.deepEqual(
      out.mounts!.map((m) => `${m.destination}<-${m.source}`),
      ['/proc<-proc', '/dev<-tmpfs', '/data<-/srv/a', '/data/a/b<-/old', '/usr/lib/x<-/srv/lib'],
      'the old /data is replaced; stable sort by depth',
    );
    assert.deepEqual(out.hooks, { createContainer: [{ path: '/usr/bin/h', args: ['h', '1'], timeout: 5 }] });
    assert.deepEqual(out.process!.user.additionalGids, [44]);
  });

  it('a host path that is not a device, or is missing, is an error naming it', () => {
    assert.throws(() => applyContainerEdits(spec(), [{ deviceNodes: [{ path: '/dev/x', hostPath: '/etc/hostname' }] }]), /device node \/dev\/x: host path \/etc\/hostname is not a device node/);
    assert.throws(() => applyContainerEdits(spec(), [{ deviceNodes: [{ path: '/dev/x', hostPath: '/nonexistent' }] }]), /cannot stat host device \/nonexistent/);
    assert.throws(() => applyContainerEdits(spec(), [{ deviceNodes: [{ path: '/dev/x', hostPath: '/dev/null', type: 'b' }] }]), /type "b" does not match the host device \/dev\/null \(type "c"\)/);
  });
});

describe('CDI directories and the injector', () => {
  function layout(files: Record<string, unknown>): string[] {
    const base = fs.mkdtempSync(path.join(root, 'dirs-'));
    for (const [rel, doc] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(base, rel)), { recursive: true });
      fs.writeFileSync(path.join(base, rel), typeof doc === 'string' ? doc : JSON.stringify(doc));
    }
    return [path.join(base, 'etc'), path.join(base, 'run')];
  }
  const dev = (env: string, name = 'dev0', kind = 'hutch.test/dev'): unknown => ({ cdiVersion: '0.3.0', kind, devices: [{ name, containerEdits: { env: [env] } }] });
  const inject = (dirs: string[], annotations: Record<string, string>): Spec =>
    new CdiInjector({ specDirs: dirs }, silent).inject(spec(), { id: 'c1', bundle: '/b', annotations });

  it('the later directory wins; the same directory twice is a conflict', () => {
    const dirs = layout({ 'etc/a.json': dev('FROM=etc'), 'run/b.json': dev('FROM=run'), 'etc/c1.json': dev('X=1', 'twice'), 'etc/c2.yaml': dev('X=2', 'twice') });
    const cache = readCdiDirs(dirs);
    assert.equal(cache.devices.get('hutch.test/dev=dev0')?.file, path.join(dirs[1], 'b.json'));
    assert.deepEqual(cache.conflicts.get('hutch.test/dev=twice'), [path.join(dirs[0], 'c1.json'), path.join(dirs[0], 'c2.yaml')]);
    assert.ok(inject(dirs, { 'cdi.k8s.io/x': 'hutch.test/dev=dev0' }).process!.env!.includes('FROM=run'));
    assert.throws(() => inject(dirs, { 'io.hutch.cdi.devices': 'hutch.test/dev=twice' }), /CDI device "hutch\.test\/dev=twice" is defined more than once in one directory \(.*c1\.json, .*c2\.yaml\)/);
  });

  it('spec-wide edits apply once, before the devices', () => {
    const dirs = layout({
      'etc/a.json': {
        cdiVersion: '0.3.0',
        kind: 'hutch.test/dev',
        containerEdits: { env: ['SPEC=1'] },
        devices: [
          { name: 'a', containerEdits: { env: ['A=1'] } },
          { name: 'b', containerEdits: { env: ['B=1'] } },
        ],
      },
    });
    assert.deepEqual(inject(dirs, { 'cdi.k8s.io/x': 'hutch.test/dev=b,hutch.test/dev=a' }).process!.env, ['PATH=/bin', 'MODE=old', 'SPEC=1', 'B=1', 'A=1']);
  });

  it('an unknown device names the directories and the spec files that could not be read', () => {
    const dirs = layout({ 'etc/good.json': dev('A=1'), 'run/broken.yaml': 'cdiVersion: "0.3.0"\nkind: hutch.test/dev\ndevices:\n  - name: dev9\n    containerEdit: {}\n', 'etc/ignored.txt': 'x' });
    assert.throws(
      () => inject(dirs, { 'cdi.k8s.io/x': 'hutch.test/dev=dev9' }),
      (e: Error) => /unknown CDI device "hutch\.test\/dev=dev9"/.test(e.message) && /broken\.yaml: devices\[0\]\.containerEdit: unknown field/.test(e.message),
    );
    // a broken file does not stop devices defined elsewhere
    assert.ok(inject(dirs, { 'cdi.k8s.io/x': 'hutch.test/dev=dev0' }).process!.env!.includes('A=1'));
  });
});
