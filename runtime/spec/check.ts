/** Small shape checks for JSON documents; each failure names the JSON path. */
import { invalidField } from '../errors';

export type Json = unknown;

export class Checker {
  constructor(readonly op: string) {}

  fail(path: string, problem: string): never {
    throw invalidField(this.op, path, problem);
  }

  object(v: Json, path: string): Record<string, Json> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(path, `expected an object, got ${describe(v)}`);
    return v as Record<string, Json>;
  }

  array(v: Json, path: string): Json[] {
    if (!Array.isArray(v)) this.fail(path, `expected an array, got ${describe(v)}`);
    return v;
  }

  string(v: Json, path: string): string {
    if (typeof v !== 'string') this.fail(path, `expected a string, got ${describe(v)}`);
    return v;
  }

  bool(v: Json, path: string): boolean {
    if (typeof v !== 'boolean') this.fail(path, `expected true or false, got ${describe(v)}`);
    return v;
  }

  int(v: Json, path: string, min = -Infinity, max = Infinity): number {
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(path, `expected an integer, got ${describe(v)}`);
    if (v < min || v > max) this.fail(path, `${v} is out of range (${min} to ${max})`);
    return v;
  }

  strings(v: Json, path: string): string[] {
    return this.array(v, path).map((s, i) => this.string(s, `${path}[${i}]`));
  }

  absolute(v: Json, path: string): string {
    const s = this.string(v, path);
    if (!s.startsWith('/')) this.fail(path, `"${s}" is not an absolute path`);
    return s;
  }

  /** Runs `fn` on a field when present (not undefined). */
  optional<T>(obj: Record<string, Json>, key: string, path: string, fn: (v: Json, p: string) => T): T | undefined {
    const v = obj[key];
    return v === undefined ? undefined : fn(v, `${path}.${key}`);
  }
}

function describe(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}
