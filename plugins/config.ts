/**
 * hutch's configuration file: which plugin of each kind to use, their settings, and
 * the user's own plugins. Looked for at the path given by `--config` / `HUTCH_CONFIG`,
 * else `/etc/hutch/config.json`, `config.yaml` or `config.yml`; without one every
 * default applies and nothing heavy is loaded. YAML is parsed by the `yaml` package,
 * loaded only for a YAML file.
 *
 * Example (/etc/hutch/config.yaml):
 *   injectors:
 *     use: [hooksd, cdi, gpu, greeting]
 *     cdi: { specDirs: [/etc/cdi, /var/run/cdi] }
 *     greeting: { hostDir: /srv/greeting }
 *   plugins:
 *     - { kind: injector, name: greeting, module: /opt/hutch/greeting.js }
 *   network: { use: bridge }
 *   shim: { group: pod }            # containerd-shim-hutch-v2: container | pod | namespace
 *
 * Every error names the file and the key:
 *   config: /etc/hutch/config.yaml: injectors.cdi.specDirs[1]: not an absolute path: "cdi"
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../runtime/errors';
import { BUILTINS, BUILTIN_INJECTORS, builtin } from './builtins';
import { KIND_TITLE, PLUGIN_KINDS, type PluginKind } from './plugin';
import { SettingsReader, describe } from './settings';

export const CONFIG_DIR = '/etc/hutch';
export const CONFIG_NAMES = ['config.json', 'config.yaml', 'config.yml'];

/** Per-container choices, as annotations. */
export const INJECTORS_ANNOTATION = 'io.hutch.injectors';
export const KIND_ANNOTATION: Record<Exclude<PluginKind, 'injector'>, string> = {
  cgroup: 'io.hutch.cgroup',
  snapshotter: 'io.hutch.snapshotter',
  network: 'io.hutch.network',
};

/** A user plugin declared under `plugins:`. */
export interface UserPluginEntry {
  kind: PluginKind;
  name: string;
  /** absolute path of a JS file, or a package name */
  module: string;
  /** the exported class; default: the default export, or the module's only exported class */
  exportName?: string;
  /** where it was declared, e.g. "plugins[0]" */
  key: string;
}

export interface KindConfig {
  /** the plugin(s) chosen; undefined means the runtime's default */
  use?: string;
  /** raw settings by plugin name (`<kind>.<name>`) */
  settings: Record<string, unknown>;
}

/**
 * Which containers containerd-shim-hutch-v2 serves from one process:
 *   container  every container its own shim (annotations ignored);
 *   pod        as containerd's runc shim: the io.containerd.runc.v2.group annotation,
 *              else io.kubernetes.cri.sandbox-id (one shim per Kubernetes pod), else
 *              the container alone (the default);
 *   namespace  one shim for every container of a containerd namespace.
 */
export const SHIM_GROUPINGS = ['auto', 'container', 'pod', 'namespace'] as const;
export type ShimGrouping = (typeof SHIM_GROUPINGS)[number];

export interface ShimConfig {
  group: ShimGrouping;
}

export interface HutchConfig {
  /** the file read; undefined when no file exists (all defaults) */
  file?: string;
  cgroup: KindConfig;
  snapshotter: KindConfig;
  network: KindConfig;
  injectors: { use: string[]; settings: Record<string, unknown> };
  plugins: UserPluginEntry[];
  shim: ShimConfig;
}

const NAME = /^[a-z0-9][a-z0-9._-]*$/;

export function defaultConfig(): HutchConfig {
  return {
    cgroup: { settings: {} },
    snapshotter: { settings: {} },
    network: { settings: {} },
    injectors: { use: [...BUILTIN_INJECTORS], settings: {} },
    plugins: [],
    shim: { group: 'auto' },
  };
}

/** The configuration file in force: the explicit path (which must exist) or the first default that exists. */
export function findConfigFile(explicit?: string): string | undefined {
  if (explicit) {
    if (!fs.existsSync(explicit)) {
      throw new HutchError('config', `${explicit}: no such file (given by --config or HUTCH_CONFIG)`, { kind: 'not-found', errno: 'ENOENT', path: explicit });
    }
    return path.resolve(explicit);
  }
  let names: string[];
  try {
    names = fs.readdirSync(CONFIG_DIR);
  } catch {
    return undefined; // no /etc/hutch: nothing configured
  }
  const found = CONFIG_NAMES.filter((n) => names.includes(n));
  if (found.length > 1) {
    throw new HutchError('config', `${CONFIG_DIR}: both ${found.join(' and ')} exist; keep one`, { kind: 'invalid-argument', path: CONFIG_DIR });
  }
  return found.length ? path.join(CONFIG_DIR, found[0]) : undefined;
}

function parseDocument(text: string, file: string): unknown {
  const yamlish = /\.ya?ml$/i.test(file) || (!/\.json$/i.test(file) && !text.trimStart().startsWith('{'));
  if (!yamlish) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new HutchError('config', `${file}: not valid JSON: ${(e as Error).message}`, { kind: 'invalid-argument', path: file });
    }
  }
  const YAML = require('yaml') as typeof import('yaml');
  try {
    return YAML.parse(text, { uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    throw new HutchError('config', `${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`, { kind: 'invalid-argument', path: file });
  }
}

function readPlugins(raw: unknown, at: SettingsReader): UserPluginEntry[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw at.fail(`must be a list of plugins, not ${describe(raw)}`);
  const seen = new Set<string>();
  return raw.map((entry, i) => {
    const e = at.child(i);
    const obj = e.object(entry, ['kind', 'name', 'module', 'export']);
    const kind = e.child('kind').oneOf(obj.kind, PLUGIN_KINDS, 'injector');
    if (obj.kind === undefined) throw e.child('kind').fail(`required (one of ${PLUGIN_KINDS.join(', ')})`);
    const name = e.child('name').string(obj.name);
    if (!name) throw e.child('name').fail('required');
    if (!NAME.test(name) || name === 'use') throw e.child('name').fail(`"${name}" is not a valid plugin name (lower case letters, digits, ".", "_", "-"; not "use")`);
    if (builtin(kind, name)) throw e.child('name').fail(`"${name}" is the name of a built-in ${KIND_TITLE[kind]}`);
    if (seen.has(`${kind}/${name}`)) throw e.child('name').fail(`a ${KIND_TITLE[kind]} named "${name}" is declared twice`);
    seen.add(`${kind}/${name}`);
    const module = e.child('module').string(obj.module);
    if (!module) throw e.child('module').fail('required (an absolute path or a package name)');
    if (!path.isAbsolute(module) && (module.startsWith('.') || module.includes('\\'))) {
      throw e.child('module').fail(`"${module}" is neither an absolute path nor a package name`);
    }
    const exportName = e.child('export').string(obj.export);
    return { kind, name, module, exportName, key: `plugins[${i}]` };
  });
}

function namesOf(kind: PluginKind, plugins: UserPluginEntry[]): string[] {
  return [...BUILTINS.filter((b) => b.kind === kind).map((b) => b.name), ...plugins.filter((p) => p.kind === kind).map((p) => p.name)];
}

/** Validates the settings of built-ins now (cheap); user plugins' settings when they load. */
function readSettingsOf(kind: PluginKind, obj: Record<string, unknown>, at: SettingsReader): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(obj)) {
    if (name === 'use') continue;
    const b = builtin(kind, name);
    out[name] = b?.readSettings ? b.readSettings(raw, at.child(name)) : at.child(name).object(raw);
  }
  return out;
}

function readKind(kind: Exclude<PluginKind, 'injector'>, raw: unknown, at: SettingsReader, plugins: UserPluginEntry[]): KindConfig {
  const known = namesOf(kind, plugins);
  const obj = at.object(raw, ['use', ...known]);
  let use = at.child('use').string(obj.use);
  if (use !== undefined && use !== 'auto' && !known.includes(use)) {
    throw at.child('use').fail(`unknown ${KIND_TITLE[kind]} "${use}" (known: ${known.join(', ')})`);
  }
  if (use === 'auto') use = undefined;
  return { use, settings: readSettingsOf(kind, obj, at) };
}

function readInjectors(raw: unknown, at: SettingsReader, plugins: UserPluginEntry[]): HutchConfig['injectors'] {
  const known = namesOf('injector', plugins);
  const obj = at.object(raw, ['use', ...known]);
  let use: string[];
  if (obj.use === undefined || obj.use === null) {
    use = known; // built-ins first, then user injectors in declaration order
  } else {
    use = at.child('use').strings(obj.use, []);
    use.forEach((name, i) => {
      if (!known.includes(name)) throw at.child('use').child(i).fail(`unknown injector "${name}" (known: ${known.join(', ')})`);
      if (use.indexOf(name) !== i) throw at.child('use').child(i).fail(`injector "${name}" is listed twice`);
    });
  }
  return { use, settings: readSettingsOf('injector', obj, at) };
}

function readShim(raw: unknown, at: SettingsReader): ShimConfig {
  const obj = at.object(raw, ['group']);
  return { group: at.child('group').oneOf(obj.group, SHIM_GROUPINGS, 'auto') };
}

/** Parses and validates a configuration document. */
export function parseConfig(text: string, file: string): HutchConfig {
  const doc = parseDocument(text, file);
  const top = new SettingsReader(file, '');
  if (doc === null || doc === undefined) return { ...defaultConfig(), file };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new HutchError('config', `${file}: must be a mapping of sections, not ${describe(doc)}`, { kind: 'invalid-argument', path: file });
  const obj = top.object(doc, ['cgroup', 'snapshotter', 'network', 'injectors', 'plugins', 'shim']);
  const plugins = readPlugins(obj.plugins, top.child('plugins'));
  return {
    file,
    cgroup: readKind('cgroup', obj.cgroup, top.child('cgroup'), plugins),
    snapshotter: readKind('snapshotter', obj.snapshotter, top.child('snapshotter'), plugins),
    network: readKind('network', obj.network, top.child('network'), plugins),
    injectors: readInjectors(obj.injectors, top.child('injectors'), plugins),
    plugins,
    shim: readShim(obj.shim, top.child('shim')),
  };
}

let cached: { file: string; mtimeMs: number; size: number; config: HutchConfig } | undefined;

/**
 * The configuration in force (defaults when there is no file). A long-lived process
 * (the shim) sees edits: the file is parsed again when its mtime or size changes.
 */
export function loadConfig(explicit?: string): HutchConfig {
  const file = findConfigFile(explicit);
  if (!file) return defaultConfig();
  let st: fs.Stats;
  let text: string;
  try {
    st = fs.statSync(file);
    if (cached && cached.file === file && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.config;
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HutchError('config', `${file}: cannot read: ${err.message}`, { errno: err.code, path: file });
  }
  const config = parseConfig(text, file);
  cached = { file, mtimeMs: st.mtimeMs, size: st.size, config };
  return config;
}

/** The settings of one plugin, validated (defaults for a built-in when the file says nothing). */
export function settingsFor(config: HutchConfig, kind: PluginKind, name: string): unknown {
  const section = kind === 'injector' ? config.injectors : config[kind];
  if (name in section.settings) return section.settings[name];
  const b = builtin(kind, name);
  return b?.readSettings ? b.readSettings(undefined, new SettingsReader(config.file ?? '', `${kind === 'injector' ? 'injectors' : kind}.${name}`)) : {};
}

function annotationError(key: string, problem: string): HutchError {
  return new HutchError('create', `annotation ${key}: ${problem}`, { kind: 'invalid-argument', field: `annotations["${key}"]` });
}

/**
 * The injectors to run for one container: the configured list, or the subset (and
 * order) named by the `io.hutch.injectors` annotation ("" or "none" runs none). An
 * annotation cannot enable an injector the configuration leaves out.
 */
export function injectorsFor(config: HutchConfig, annotations: Record<string, string>): string[] {
  const asked = annotations[INJECTORS_ANNOTATION];
  if (asked === undefined) return config.injectors.use;
  const trimmed = asked.trim();
  if (trimmed === '' || trimmed === 'none') return [];
  const names = trimmed.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!config.injectors.use.includes(n)) {
      const known = namesOf('injector', config.plugins);
      throw annotationError(INJECTORS_ANNOTATION, known.includes(n) ? `injector "${n}" is not enabled in the configuration` : `unknown injector "${n}" (enabled: ${config.injectors.use.join(', ') || 'none'})`);
    }
  }
  return [...new Set(names)];
}

/** The plugin of a single-choice kind for one container: annotation, then configuration; undefined = runtime default. */
export function pluginFor(config: HutchConfig, kind: Exclude<PluginKind, 'injector'>, annotations: Record<string, string>): string | undefined {
  const key = KIND_ANNOTATION[kind];
  const value = annotations[key]?.trim();
  if (value === undefined || value === '') return config[kind].use;
  // io.hutch.network=cni:<network>: the plugin is "cni"; it reads its argument itself
  const asked = kind === 'network' ? value.replace(/:.*$/s, '') : value;
  const known = namesOf(kind, config.plugins);
  if (!known.includes(asked)) throw annotationError(key, `unknown ${KIND_TITLE[kind]} "${asked}" (known: ${known.join(', ')})`);
  return asked;
}
