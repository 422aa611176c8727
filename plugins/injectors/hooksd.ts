/**
 * The hooks.d injector: OCI hooks configured by JSON files in hook directories, in the
 * oci-hooks(5) format podman, CRI-O and buildah read (schema 1.0.0, and the legacy
 * 0.1.0 without a `version`).
 *
 * - Directories are given in increasing precedence (default
 *   /usr/share/containers/oci/hooks.d, then /etc/containers/oci/hooks.d); a file name
 *   in a later directory masks the same name in an earlier one. Only `*.json` files.
 * - Matching hooks are injected in the order of their lower-cased file names
 *   (code-point order), appended to each stage listed in `stages`.
 * - 1.0.0 `when`: every condition set must match (`always`, `annotations` key→value
 *   regexes against the container's annotations, `hasBindMounts`); `commands` (regexes
 *   on process.args[0]) then decides alone. 0.1.0: any condition matching injects.
 *   Regexes are Go RE2 syntax and unanchored.
 * - A file that cannot be read or is invalid fails the container (as podman does),
 *   naming the file and the key; a hook whose program does not exist is skipped with a
 *   warning.
 *
 * Example (/etc/containers/oci/hooks.d/50-marker.json):
 *   { "version": "1.0.0", "hook": { "path": "/usr/local/bin/marker", "args": ["marker", "x"] },
 *     "when": { "annotations": { "^com\\.example\\.marker$": "^yes$" } }, "stages": ["prestart"] }
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import { HOOK_STAGES, type Hook, type HookStage, type Spec } from '../../runtime/spec/types';
import type { PluginContext } from '../plugin';
import { describe } from '../settings';
import { goRegexp } from './go-regexp';
import type { InjectionContext, SpecInjector } from './injector';
import type { HooksDirSettings } from './settings';

/** Bind mounts every engine adds itself; they do not count as "the caller asked for bind mounts". */
const RUNTIME_BIND_DESTINATIONS = new Set(['/etc/resolv.conf', '/etc/hosts', '/etc/hostname', '/dev/shm', '/run/.containerenv', '/dev/termination-log']);
/** Overrides the bind-mount guess for one container: "true" or "false". */
export const HAS_BIND_MOUNTS_ANNOTATION = 'io.hutch.hooks.has-bind-mounts';

interface When {
  always?: boolean;
  annotations: { key: RegExp; value: RegExp }[];
  commands: RegExp[];
  hasBindMounts?: boolean;
  /** 0.1.0 semantics: any condition matching is enough */
  or: boolean;
}

export interface HookDefinition {
  /** file name (the sort and masking key) */
  name: string;
  /** full path, for messages */
  file: string;
  hook: Hook;
  when: When;
  stages: HookStage[];
}

class FileError {
  constructor(readonly file: string) {}
  at(key: string, problem: string): HutchError {
    return new HutchError('', `${this.file}: ${key ? `${key}: ` : ''}${problem}`, { kind: 'invalid-argument', path: this.file, field: key || undefined });
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringList(v: unknown, key: string, err: FileError): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw err.at(key, `must be a list of strings, not ${describe(v)}`);
  v.forEach((s, i) => {
    if (typeof s !== 'string') throw err.at(`${key}[${i}]`, `must be a string, not ${describe(s)}`);
  });
  return v as string[];
}

function optionalBool(v: unknown, key: string, err: FileError): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw err.at(key, `must be true or false, not ${describe(v)}`);
  return v;
}

function regex(pattern: string, key: string, err: FileError): RegExp {
  try {
    return goRegexp(pattern);
  } catch (e) {
    throw err.at(key, `invalid regular expression "${pattern}": ${(e as Error).message}`);
  }
}

function readStages(v: unknown, key: string, err: FileError): HookStage[] {
  const list = stringList(v, key, err);
  if (list === undefined) throw err.at('', `missing required property: ${key}`);
  list.forEach((s, i) => {
    if (!(HOOK_STAGES as readonly string[]).includes(s)) throw err.at(`${key}[${i}]`, `unknown stage "${s}" (known: ${HOOK_STAGES.join(', ')})`);
  });
  return list as HookStage[];
}

function readHookEntry(v: unknown, err: FileError): Hook {
  if (!isObject(v)) throw err.at('hook', v === undefined ? 'missing required property' : `must be an object, not ${describe(v)}`);
  if (typeof v.path !== 'string' || v.path === '') throw err.at('', 'missing required property: hook.path');
  if (!path.isAbsolute(v.path)) throw err.at('hook.path', `not an absolute path: "${v.path}"`);
  const hook: Hook = { path: v.path };
  const args = stringList(v.args, 'hook.args', err);
  if (args) hook.args = args;
  const env = stringList(v.env, 'hook.env', err);
  if (env) hook.env = env;
  if (v.timeout !== undefined && v.timeout !== null) {
    if (typeof v.timeout !== 'number' || !Number.isInteger(v.timeout) || v.timeout <= 0) throw err.at('hook.timeout', `must be a whole number of seconds > 0, not ${describe(v.timeout)}`);
    hook.timeout = v.timeout;
  }
  return hook;
}

function readCurrent(doc: Record<string, unknown>, err: FileError): Omit<HookDefinition, 'name' | 'file'> {
  const hook = readHookEntry(doc.hook, err);
  const when: When = { annotations: [], commands: [], or: false };
  if (doc.when !== undefined && doc.when !== null) {
    if (!isObject(doc.when)) throw err.at('when', `must be an object, not ${describe(doc.when)}`);
    const w = doc.when;
    when.always = optionalBool(w.always, 'when.always', err);
    when.hasBindMounts = optionalBool(w.hasBindMounts, 'when.hasBindMounts', err);
    if (w.annotations !== undefined && w.annotations !== null) {
      if (!isObject(w.annotations)) throw err.at('when.annotations', `must be an object of regex → regex, not ${describe(w.annotations)}`);
      for (const [k, val] of Object.entries(w.annotations)) {
        if (typeof val !== 'string') throw err.at(`when.annotations["${k}"]`, `must be a string, not ${describe(val)}`);
        when.annotations.push({ key: regex(k, `when.annotations["${k}"] (key)`, err), value: regex(val, `when.annotations["${k}"]`, err) });
      }
    }
    when.commands = (stringList(w.commands, 'when.commands', err) ?? []).map((c, i) => regex(c, `when.commands[${i}]`, err));
  }
  return { hook, when, stages: readStages(doc.stages, 'stages', err) };
}

/** 0.1.0: `hook` is the path, `arguments` follow it, singular synonyms allowed, conditions OR-ed. */
function readLegacy(doc: Record<string, unknown>, err: FileError): Omit<HookDefinition, 'name' | 'file'> {
  const pick = (plural: string, singular: string): unknown => {
    if (doc[plural] !== undefined && doc[singular] !== undefined) throw err.at('', `cannot set both '${singular}' and '${plural}'`);
    return doc[plural] ?? doc[singular];
  };
  if (typeof doc.hook !== 'string' || doc.hook === '') throw err.at('', 'missing required property: hook');
  if (!path.isAbsolute(doc.hook)) throw err.at('hook', `not an absolute path: "${doc.hook}"`);
  const hook: Hook = { path: doc.hook };
  const args = stringList(doc.arguments, 'arguments', err);
  if (args) hook.args = [doc.hook, ...args];
  const stagesKey = doc.stages !== undefined ? 'stages' : 'stage';
  const stages = readStages(pick('stages', 'stage'), stagesKey, err);
  const when: When = { annotations: [], commands: [], or: true };
  when.commands = (stringList(pick('cmds', 'cmd'), 'cmds', err) ?? []).map((c, i) => regex(c, `cmds[${i}]`, err));
  const annotations = stringList(pick('annotations', 'annotation'), 'annotations', err);
  if (annotations) when.annotations.push({ key: /.*/, value: regex(annotations.join('|'), 'annotations', err) });
  when.hasBindMounts = optionalBool(doc.hasbindmounts, 'hasbindmounts', err);
  return { hook, when, stages };
}

/** Parses one hooks.d file. */
export function parseHookFile(text: string, file: string): HookDefinition {
  const err = new FileError(file);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw err.at('', `not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw err.at('', `must be a JSON object, not ${describe(doc)}`);
  const version = doc.version ?? '';
  let body: Omit<HookDefinition, 'name' | 'file'>;
  if (version === '1.0.0') body = readCurrent(doc, err);
  else if (version === '' || version === '0.1.0') body = readLegacy(doc, err);
  else throw err.at('version', `unrecognized hook version: ${JSON.stringify(version)} (known: 1.0.0, 0.1.0)`);
  return { name: path.basename(file), file, ...body };
}

function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0)! - y[i].codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** Reads the directories (increasing precedence) into hook definitions in injection order. */
export function readHookDirs(dirs: readonly string[]): HookDefinition[] {
  const byName = new Map<string, HookDefinition>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new HutchError('', `${dir}: cannot read hooks directory: ${(e as Error).message}`, { errno: (e as NodeJS.ErrnoException).code, path: dir });
    }
    for (const name of names) {
      if (!name.endsWith('.json')) continue;
      const file = path.join(dir, name);
      let text: string;
      try {
        text = fs.readFileSync(file, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue; // removed meanwhile
        if (code === 'EISDIR') continue;
        throw new HutchError('', `${file}: cannot read: ${(e as Error).message}`, { errno: code, path: file });
      }
      byName.set(name, parseHookFile(text, file));
    }
  }
  return [...byName.values()].sort((a, b) => compareCodePoints(a.name.toLowerCase(), b.name.toLowerCase()));
}

/** Whether the caller asked for host bind mounts: bind mounts other than those every engine adds. */
export function hasBindMounts(spec: Spec, annotations: Record<string, string>): boolean {
  const forced = annotations[HAS_BIND_MOUNTS_ANNOTATION];
  if (forced === 'true' || forced === 'false') return forced === 'true';
  return (spec.mounts ?? []).some(
    (m) => (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')) && !RUNTIME_BIND_DESTINATIONS.has(path.posix.normalize(m.destination)),
  );
}

/** containers/common's When.Match, including its 0.1.0 any-of mode. */
export function hookMatches(def: HookDefinition, spec: Spec, annotations: Record<string, string>, bindMounts: boolean): boolean {
  const w = def.when;
  let matches = 0;
  const hit = (): boolean => {
    matches++;
    return w.or;
  };
  if (w.always !== undefined) {
    if (w.always) {
      if (hit()) return true;
    } else if (!w.or) return false;
  }
  if (w.hasBindMounts !== undefined) {
    if (w.hasBindMounts && bindMounts) {
      if (hit()) return true;
    } else if (!w.or) return false;
  }
  for (const { key, value } of w.annotations) {
    const found = Object.entries(annotations).some(([k, v]) => key.test(k) && value.test(v));
    if (found) {
      if (hit()) return true;
    } else if (!w.or) return false;
  }
  if (w.commands.length > 0 && spec.process) {
    const command = spec.process.args?.[0];
    if (command === undefined) throw new HutchError('', `${def.file}: matching when.commands: process.args must have at least one entry`, { kind: 'invalid-argument' });
    return w.commands.some((c) => c.test(command));
  }
  return matches > 0;
}

export class HooksDirInjector implements SpecInjector {
  readonly name = 'hooksd';

  constructor(
    private readonly settings: HooksDirSettings,
    private readonly context: Pick<PluginContext, 'log'>,
  ) {}

  inject(spec: Spec, context: InjectionContext): Spec {
    const log = this.context.log;
    const bindMounts = hasBindMounts(spec, context.annotations);
    for (const def of readHookDirs(this.settings.dirs)) {
      if (!hookMatches(def, spec, context.annotations, bindMounts)) {
        log.debug(`hooks.d: ${def.file} did not match`);
        continue;
      }
      if (!fs.existsSync(def.hook.path)) {
        log.warn(`hooks.d: ${def.file}: hook.path ${def.hook.path} does not exist; hook skipped`);
        continue;
      }
      spec.hooks ??= {};
      for (const stage of def.stages) {
        const target: HookStage = stage === 'prestart' ? this.settings.prestartStage : stage;
        (spec.hooks[target] ??= []).push(structuredClone(def.hook));
      }
      log.debug(`hooks.d: ${def.file} matched; added to ${def.stages.join(', ')}`);
    }
    return spec;
  }
}
