/**
 * Reading settings out of a parsed configuration document, with errors that name the
 * file and the key path, e.g.
 *   config: /etc/hutch/config.yaml: injectors.cdi.specDirs[1]: not an absolute path
 * Plugins use a `SettingsReader` to validate their own section.
 *
 * Example:
 *   const dirs = at.child('specDirs').absolutePaths(raw.specDirs, ['/etc/cdi']);
 */
import * as path from 'node:path';
import { HutchError } from '../runtime/errors';

export class SettingsReader {
  /** `file` is the configuration file ("" for built-in defaults); `key` the path of this value. */
  constructor(
    readonly file: string,
    readonly key: string,
  ) {}

  /** The reader for a member (`.name`) or an element (`[3]`). */
  child(member: string | number): SettingsReader {
    if (typeof member === 'number') return new SettingsReader(this.file, `${this.key}[${member}]`);
    return new SettingsReader(this.file, this.key ? `${this.key}.${member}` : member);
  }

  /** One error line naming the file and the key. */
  fail(problem: string): HutchError {
    const where = [this.file, this.key].filter(Boolean).join(': ');
    return new HutchError('config', `${where}: ${problem}`, { kind: 'invalid-argument', field: this.key, path: this.file || undefined });
  }

  /** An object whose keys are all in `known` (or any keys when `known` is omitted). */
  object(value: unknown, known?: readonly string[]): Record<string, unknown> {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw this.fail(`must be an object, not ${describe(value)}`);
    const obj = value as Record<string, unknown>;
    if (known) {
      for (const k of Object.keys(obj)) {
        if (!known.includes(k)) throw this.child(k).fail(`unknown key (known: ${known.join(', ')})`);
      }
    }
    return obj;
  }

  string(value: unknown, fallback: string): string;
  string(value: unknown): string | undefined;
  string(value: unknown, fallback?: string): string | undefined {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'string') throw this.fail(`must be a string, not ${describe(value)}`);
    return value;
  }

  boolean(value: unknown, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== 'boolean') throw this.fail(`must be true or false, not ${describe(value)}`);
    return value;
  }

  oneOf<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
    const s = this.string(value, fallback);
    if (!allowed.includes(s as T)) throw this.fail(`must be one of ${allowed.join(', ')}, not "${s}"`);
    return s as T;
  }

  absolutePath(value: unknown, fallback: string): string;
  absolutePath(value: unknown): string | undefined;
  absolutePath(value: unknown, fallback?: string): string | undefined {
    const s = this.string(value);
    if (s === undefined) return fallback;
    if (!path.isAbsolute(s)) throw this.fail(`not an absolute path: "${s}"`);
    return path.normalize(s);
  }

  strings(value: unknown, fallback: string[]): string[] {
    if (value === undefined || value === null) return fallback;
    if (!Array.isArray(value)) throw this.fail(`must be a list, not ${describe(value)}`);
    return value.map((v, i) => this.child(i).string(v) ?? '');
  }

  absolutePaths(value: unknown, fallback: string[]): string[] {
    if (value === undefined || value === null) return fallback;
    if (!Array.isArray(value)) throw this.fail(`must be a list of absolute paths, not ${describe(value)}`);
    return value.map((v, i) => this.child(i).absolutePath(v) ?? '');
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string "${value}"`;
  return `${typeof value} ${String(value)}`;
}
