/**
 * Loading a user's plugin: the module named in the configuration (an absolute path,
 * or a package name resolved from the configuration file's directory and from
 * hutch's own installation), CommonJS or ES module, and the class it exports.
 *
 * Example (config.yaml):
 *   plugins:
 *     - { kind: injector, name: greeting, module: /opt/hutch/greeting.js, export: GreetingInjector }
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HutchError } from '../runtime/errors';
import type { UserPluginEntry } from './config';
import { packageRoot } from './package-root';
import { KIND_TITLE, type PluginClass, type PluginKind } from './plugin';

/** `import()` that TypeScript's CommonJS output leaves alone (it would turn it into require). */
const dynamicImport = new Function('url', 'return import(url)') as (url: string) => Promise<Record<string, unknown>>;

/** Node's own require (inside the CLI bundle `require` is the bundler's, without resolve). */
const nodeRequire = createRequire(path.join(packageRoot(), 'package.json'));

function fail(configFile: string | undefined, key: string, problem: string, cause?: unknown): HutchError {
  return new HutchError('config', `${configFile ? `${configFile}: ` : ''}${key}: ${problem}`, { kind: 'invalid-argument', field: key, cause });
}

function resolveModule(entry: UserPluginEntry, configFile: string | undefined): string {
  const paths = [configFile ? path.dirname(configFile) : process.cwd(), packageRoot()];
  try {
    return path.isAbsolute(entry.module) ? nodeRequire.resolve(entry.module) : nodeRequire.resolve(entry.module, { paths });
  } catch (e) {
    throw fail(configFile, `${entry.key}.module`, `cannot find module "${entry.module}"`, e);
  }
}

function isClass(value: unknown): value is PluginClass {
  return typeof value === 'function' && value.prototype !== undefined;
}

function pickClass(mod: Record<string, unknown> | ((...args: unknown[]) => unknown), entry: UserPluginEntry, file: string, configFile?: string): PluginClass {
  const key = `${entry.key}.export`;
  if (entry.exportName) {
    const value = (mod as Record<string, unknown>)[entry.exportName];
    if (!isClass(value)) throw fail(configFile, key, `${file} exports no class named "${entry.exportName}"`);
    return value;
  }
  if (isClass(mod)) return mod; // module.exports = class …
  const exports = mod as Record<string, unknown>;
  if (isClass(exports.default)) return exports.default;
  const classes = Object.entries(exports).filter(([, v]) => isClass(v));
  if (classes.length === 1) return classes[0][1] as PluginClass;
  throw fail(
    configFile,
    key,
    classes.length ? `${file} exports several classes (${classes.map(([n]) => n).join(', ')}); name one with "export"` : `${file} exports no class`,
  );
}

/** Loads the module and returns the plugin class it exports. */
export async function loadUserPlugin(entry: UserPluginEntry, configFile: string | undefined): Promise<PluginClass> {
  const file = resolveModule(entry, configFile);
  let mod: Record<string, unknown>;
  try {
    mod = nodeRequire(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code !== 'ERR_REQUIRE_ESM') {
      throw fail(configFile, `${entry.key}.module`, `loading ${KIND_TITLE[entry.kind]} "${entry.name}" from ${file} failed: ${err.message.split('\n')[0]}`, e);
    }
    try {
      mod = await dynamicImport(pathToFileURL(file).href);
    } catch (e2) {
      throw fail(configFile, `${entry.key}.module`, `loading ${KIND_TITLE[entry.kind]} "${entry.name}" from ${file} failed: ${(e2 as Error).message.split('\n')[0]}`, e2);
    }
  }
  return pickClass(mod, entry, file, configFile);
}

/** The methods an instance of each kind must have (the snapshotter contract is checked by its user). */
const REQUIRED_METHODS: Record<PluginKind, string[]> = {
  injector: ['inject'],
  network: ['setup', 'teardown'],
  cgroup: ['create', 'attach', 'update', 'setFrozen', 'freezerState', 'pids', 'signalAll', 'stats', 'watchOom', 'mountSources', 'destroy'],
  snapshotter: [],
};

/** Throws when `instance` lacks a method its kind requires. */
export function checkImplements(kind: PluginKind, name: string, origin: string, instance: unknown): void {
  if (instance === null || typeof instance !== 'object') {
    throw new HutchError('config', `${KIND_TITLE[kind]} "${name}" (${origin}): the constructor made no object`, { kind: 'invalid-argument' });
  }
  const missing = REQUIRED_METHODS[kind].filter((m) => typeof (instance as Record<string, unknown>)[m] !== 'function');
  if (missing.length) {
    throw new HutchError('config', `${KIND_TITLE[kind]} "${name}" (${origin}) does not implement the ${kind} plugin kind: missing ${missing.map((m) => `${m}()`).join(', ')}`, {
      kind: 'invalid-argument',
    });
  }
}
