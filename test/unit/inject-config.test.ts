// The configuration file (validation errors name the file and key), per-container
// annotations, the registry, user plugins (the README's example, and broken ones), and
// the injectSpec entry point's fast path.
import assert = require('node:assert/strict');
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { injectorsFor, loadConfig, parseConfig, pluginFor } from '../../plugins/config';
import { injectSpec, resetRegistries } from '../../plugins/inject';
import { PluginRegistry } from '../../plugins/registry';
import type { Spec } from '../../runtime/spec/types';
import { REPO_ROOT, tempDir } from '../fixtures/env';

const root = tempDir('config');
after(() => fs.rmSync(root, { recursive: true, force: true }));
const EXAMPLE = path.join(REPO_ROOT, 'dist', 'examples', 'annotation-mount-injector.js');
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined };

function file(name: string, text: string): string {
  const p = path.join(fs.mkdtempSync(path.join(root, 'f-')), name);
  fs.writeFileSync(p, text);
  return p;
}

function spec(): Spec {
  return { ociVersion: '1.0.2', process: { user: { uid: 0, gid: 0 }, cwd: '/', args: ['sh'], env: ['PATH=/bin'] }, root: { path: 'rootfs' }, mounts: [] };
}

describe('configuration file', () => {
  it('defaults: every built-in injector, runtime defaults for the other kinds', () => {
    const c = parseConfig('{}', '/etc/hutch/config.json');
    assert.deepEqual(c.injectors.use, ['hooksd', 'cdi', 'gpu']);
    assert.equal(c.cgroup.use, undefined);
    assert.equal(c.network.use, undefined);
  });

  it('YAML and JSON, settings validated for built-ins', () => {
    const c = parseConfig('injectors:\n  use: [cdi]\n  cdi:\n    specDirs: [/x/cdi]\nnetwork: { use: cni }\ncgroup: { use: auto }\n', '/etc/hutch/config.yaml');
    assert.deepEqual(c.injectors.use, ['cdi']);
    assert.deepEqual(c.injectors.settings.cdi, { specDirs: ['/x/cdi'] });
    assert.equal(c.network.use, 'cni');
    assert.equal(c.cgroup.use, undefined);
  });

  const bad: [string, string, string, RegExp][] = [
    ['a relative spec dir', 'config.yaml', 'injectors:\n  cdi:\n    specDirs: [/etc/cdi, cdi]\n', /config: \/.*config\.yaml: injectors\.cdi\.specDirs\[1\]: not an absolute path: "cdi"$/],
    ['an unknown section', 'config.yaml', 'injector: {}\n', /config\.yaml: injector: unknown key \(known: cgroup, snapshotter, network, injectors, plugins, shim\)/],
    ['an unknown setting', 'config.json', '{"injectors":{"gpu":{"driverRot":"/"}}}', /config\.json: injectors\.gpu\.driverRot: unknown key/],
    ['an unknown injector in use', 'config.yaml', 'injectors: { use: [cdi, nope] }\n', /injectors\.use\[1\]: unknown injector "nope" \(known: hooksd, cdi, gpu\)/],
    ['an unknown network plugin', 'config.yaml', 'network: { use: flannel }\n', /network\.use: unknown network plugin "flannel"/],
    ['a bad stage', 'config.yaml', 'injectors: { gpu: { stage: poststart } }\n', /injectors\.gpu\.stage: must be one of prestart, createRuntime, not "poststart"/],
    ['a plugin without a module', 'config.yaml', 'plugins:\n  - { kind: injector, name: x }\n', /plugins\[0\]\.module: required/],
    ['a plugin with a relative module', 'config.yaml', 'plugins:\n  - { kind: injector, name: x, module: ./x.js }\n', /plugins\[0\]\.module: "\.\/x\.js" is neither an absolute path nor a package name/],
    ['a plugin named like a built-in', 'config.yaml', 'plugins:\n  - { kind: injector, name: cdi, module: /x.js }\n', /plugins\[0\]\.name: "cdi" is the name of a built-in injector/],
    ['a plugin of an unknown kind', 'config.yaml', 'plugins:\n  - { kind: storage, name: x, module: /x.js }\n', /plugins\[0\]\.kind: must be one of cgroup, snapshotter, network, injector, not "storage"/],
    ['invalid YAML', 'config.yaml', 'injectors: [\n', /config\.yaml: not valid YAML/],
    ['invalid JSON', 'config.json', '{"injectors": }', /config\.json: not valid JSON/],
  ];
  for (const [title, name, text, re] of bad) {
    it(`rejects ${title}`, () => assert.throws(() => loadConfig(file(name, text)), re));
  }

  it('an explicit path that does not exist is an error', () => {
    assert.throws(() => loadConfig('/nonexistent/hutch.yaml'), /\/nonexistent\/hutch\.yaml: no such file/);
  });
});

describe('per-container annotations', () => {
  const c = parseConfig('injectors: { use: [hooksd, cdi] }\n', '/c.yaml');
  it('io.hutch.injectors picks a subset of the enabled injectors', () => {
    assert.deepEqual(injectorsFor(c, {}), ['hooksd', 'cdi']);
    assert.deepEqual(injectorsFor(c, { 'io.hutch.injectors': 'cdi' }), ['cdi']);
    assert.deepEqual(injectorsFor(c, { 'io.hutch.injectors': 'none' }), []);
    assert.throws(() => injectorsFor(c, { 'io.hutch.injectors': 'gpu' }), /annotation io\.hutch\.injectors: injector "gpu" is not enabled in the configuration/);
    assert.throws(() => injectorsFor(c, { 'io.hutch.injectors': 'magic' }), /unknown injector "magic"/);
  });
  it('io.hutch.network / cgroup / snapshotter choose a plugin by name', () => {
    assert.equal(pluginFor(c, 'network', { 'io.hutch.network': 'cni' }), 'cni');
    assert.equal(pluginFor(c, 'cgroup', {}), undefined);
    assert.throws(() => pluginFor(c, 'snapshotter', { 'io.hutch.snapshotter': 'zfs' }), /annotation io\.hutch\.snapshotter: unknown snapshotter "zfs" \(known: overlayfs, native\)/);
  });
});

describe('registry and user plugins', () => {
  it('every kind is registered in one container; a plugin may skip itself', async () => {
    const skipper = file('skip.js', 'module.exports = class Skip { static appliesHere() { return "not on this host"; } inject(s) { return s; } };');
    const config = parseConfig(`plugins:\n  - { kind: injector, name: skip, module: ${skipper} }\n`, '/c.yaml');
    const debug: string[] = [];
    const registry = new PluginRegistry(config, { ...silent, debug: (m) => debug.push(m) });
    for (const kind of ['cgroup', 'snapshotter', 'network', 'injector'] as const) assert.ok(registry.registrations(kind).length > 0, kind);
    assert.deepEqual(registry.registrations('injector').map((r) => r.name), ['hooksd', 'cdi', 'gpu', 'skip']);
    assert.equal(await registry.get('injector', 'skip'), undefined);
    assert.match(debug.join('\n'), /injector "skip" \(user plugin .*skip\.js\) does not apply on this host, skipped: not on this host/);
    assert.ok(await registry.get('injector', 'cdi'));
    assert.equal((await registry.get<{ name: string }>('network', 'bridge'))?.name, 'bridge');
  });

  it('the example plugin (README): env var and bind mount when the annotation is present', async () => {
    resetRegistries();
    const cfg = file(
      'config.yaml',
      `plugins:\n  - kind: injector\n    name: greeting\n    module: ${EXAMPLE}\ninjectors:\n  use: [greeting]\n  greeting:\n    hostDir: /srv/greeting\n`,
    );
    const base = spec();
    const without = await injectSpec(base, { id: 'c1', bundle: '/b', annotations: {} }, cfg);
    assert.deepEqual(without, base);
    const out = await injectSpec(base, { id: 'c1', bundle: '/b', annotations: { 'example.com/greeting': 'hello' } }, cfg);
    assert.deepEqual(out.process!.env, ['PATH=/bin', 'GREETING=hello']);
    assert.deepEqual(out.mounts, [{ destination: '/greeting', type: 'bind', source: '/srv/greeting', options: ['rbind', 'ro', 'nosuid', 'nodev'] }]);
    assert.deepEqual(base.process!.env, ['PATH=/bin'], "the caller's spec is not modified");
  });

  it("the example's own settings validation names the key", async () => {
    resetRegistries();
    const cfg = file('config.yaml', `plugins:\n  - { kind: injector, name: greeting, module: ${EXAMPLE} }\ninjectors:\n  greeting: { containerPath: rel }\n`);
    await assert.rejects(injectSpec(spec(), { id: 'c1', bundle: '/b', annotations: {} }, cfg), /config\.yaml: injectors\.greeting\.hostDir: required/);
  });

  it('a plugin that throws: one error naming the plugin and the container', async () => {
    resetRegistries();
    const broken = file('broken.js', 'exports.Broken = class { inject() { throw new Error("disk on fire"); } };');
    const cfg = file('config.yaml', `plugins:\n  - { kind: injector, name: broken, module: ${broken} }\n`);
    await assert.rejects(
      injectSpec(spec(), { id: 'web-1', bundle: '/b', annotations: {} }, cfg),
      (e: Error) => e.message === `create: injector "broken" (user plugin ${broken}) failed for container "web-1": disk on fire`,
    );
  });

  it('a module that fails to load, exports no class, or lacks the methods of its kind', async () => {
    resetRegistries();
    const syntax = file('syntax.js', 'module.exports = class {');
    const noClass = file('noclass.js', 'exports.x = 1;');
    const noMethod = file('nomethod.js', 'module.exports = class { setup() {} };');
    const cases: [string, string, RegExp][] = [
      [`{ kind: injector, name: s, module: ${syntax} }`, 's', /plugins\[0\]\.module: loading injector "s" from .*syntax\.js failed: /],
      [`{ kind: injector, name: n, module: ${noClass} }`, 'n', /plugins\[0\]\.export: .*noclass\.js exports no class/],
      [`{ kind: network, name: m, module: ${noMethod} }`, 'm', /network plugin "m" \(user plugin .*nomethod\.js\) does not implement the network plugin kind: missing teardown\(\)/],
      ['{ kind: injector, name: gone, module: /nonexistent/plugin.js }', 'gone', /plugins\[0\]\.module: cannot find module "\/nonexistent\/plugin\.js"/],
      ['{ kind: injector, name: pkg, module: hutch-no-such-package }', 'pkg', /plugins\[0\]\.module: cannot find module "hutch-no-such-package"/],
    ];
    for (const [entry, name, re] of cases) {
      const cfg = file('config.yaml', `plugins:\n  - ${entry}\n`);
      const config = loadConfig(cfg);
      const kind = config.plugins[0].kind;
      await assert.rejects(new PluginRegistry(config, silent).get(kind, name), re);
    }
  });

  it('an ES module plugin loads too', async () => {
    resetRegistries();
    const esm = file('plugin.mjs', 'export default class Esm { inject(s) { s.process.env.push("ESM=1"); return s; } }');
    const cfg = file('config.yaml', `plugins:\n  - { kind: injector, name: esm, module: ${esm} }\n`);
    const out = await injectSpec(spec(), { id: 'c1', bundle: '/b', annotations: {} }, cfg);
    assert.ok(out.process!.env!.includes('ESM=1'));
  });
});

describe('injectSpec fast path', () => {
  it('without a configuration file and with nothing asked, loads neither tsyringe nor yaml', { skip: fs.existsSync('/etc/hutch') && 'this host has /etc/hutch' }, () => {
    const script = `
      const { injectSpec } = require(${JSON.stringify(path.join(REPO_ROOT, 'dist/plugins/inject.js'))});
      const spec = { ociVersion: '1.0.2', process: { user: { uid: 0, gid: 0 }, cwd: '/', args: ['sh'], env: [] }, root: { path: 'r' } };
      injectSpec(spec, { id: 'x', bundle: '/b', annotations: {} }).then((out) => {
        const loaded = Object.keys(require.cache).filter((k) => /node_modules\\/(tsyringe|yaml|reflect-metadata)\\//.test(k));
        console.log(JSON.stringify({ same: out === spec, loaded }));
      });`;
    const env = { ...process.env };
    delete env.HUTCH_CONFIG;
    const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8', env }));
    assert.deepEqual(result, { same: true, loaded: [] });
  });
});
