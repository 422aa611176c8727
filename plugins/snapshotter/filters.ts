/**
 * containerd's filter language, as its List/Walk calls send it:
 *   name==foo,labels."containerd.io/snapshot.ref"==sha256:abc   (',' = AND)
 *   kind!=committed        labels.app~=^web-                    (regex)
 *   labels.gc              (present and non-empty)
 * Several filter strings are OR-ed. Values may be quoted with "…" (Go escapes) or /…/.
 *
 * Example:
 *   const match = parseFilters(['kind==active', 'parent==sha256:abc']);
 *   match((path) => lookup(info, path));
 */
import { HutchError } from '../../runtime/errors';

type Op = '==' | '!=' | '~=' | 'present';

interface Selector {
  path: string[];
  op: Op;
  value: string;
  regex?: RegExp;
}

/** Returns the value at a field path, or undefined when there is none. */
export type FieldLookup = (path: string[]) => string | undefined;

export type Matcher = (lookup: FieldLookup) => boolean;

function bad(filter: string, at: number, problem: string): HutchError {
  return new HutchError('filter', `"${filter}" at ${at}: ${problem}`, { kind: 'invalid-argument', field: 'filters' });
}

class Scanner {
  pos = 0;
  constructor(readonly text: string) {}
  get done(): boolean {
    return this.pos >= this.text.length;
  }
  peek(): string {
    return this.text[this.pos] ?? '';
  }
  skipSpace(): void {
    while (!this.done && /\s/.test(this.peek())) this.pos++;
  }
  quoted(): string {
    const quote = this.peek();
    const start = this.pos++;
    let out = '';
    while (!this.done && this.peek() !== quote) {
      let c = this.text[this.pos++];
      if (c === '\\' && quote === '"') {
        const e = this.text[this.pos++];
        c = ({ n: '\n', t: '\t', r: '\r', '"': '"', '\\': '\\' } as Record<string, string>)[e] ?? `\\${e}`;
      } else if (c === '\\' && this.peek() === quote) {
        c = this.text[this.pos++];
      }
      out += c;
    }
    if (this.done) throw bad(this.text, start, 'unterminated quoted string');
    this.pos++;
    return out;
  }
  field(): string {
    if (this.peek() === '"') return this.quoted();
    const start = this.pos;
    while (!this.done && /[A-Za-z0-9_]/.test(this.peek())) this.pos++;
    if (start === this.pos) throw bad(this.text, start, 'expected a field name');
    return this.text.slice(start, this.pos);
  }
  value(): string {
    if (this.peek() === '"' || this.peek() === '/') return this.quoted();
    const start = this.pos;
    while (!this.done && this.peek() !== ',' && !/\s/.test(this.peek())) this.pos++;
    return this.text.slice(start, this.pos);
  }
}

function parseOne(text: string): Selector[] {
  const s = new Scanner(text);
  const selectors: Selector[] = [];
  for (;;) {
    s.skipSpace();
    const path = [s.field()];
    while (s.peek() === '.') {
      s.pos++;
      path.push(s.field());
    }
    s.skipSpace();
    const two = text.slice(s.pos, s.pos + 2);
    let sel: Selector;
    if (two === '==' || two === '!=' || two === '~=') {
      s.pos += 2;
      s.skipSpace();
      const value = s.value();
      sel = { path, op: two, value };
      if (two === '~=') {
        try {
          sel.regex = new RegExp(value);
        } catch (e) {
          throw bad(text, s.pos, `bad regular expression: ${(e as Error).message}`);
        }
      }
    } else {
      sel = { path, op: 'present', value: '' };
    }
    selectors.push(sel);
    s.skipSpace();
    if (s.done) return selectors;
    if (s.peek() !== ',') throw bad(text, s.pos, `unexpected "${s.peek()}"`);
    s.pos++;
  }
}

function matches(sel: Selector, lookup: FieldLookup): boolean {
  const v = lookup(sel.path);
  switch (sel.op) {
    case 'present':
      return v !== undefined && v !== '';
    case '==':
      return v !== undefined && v === sel.value;
    case '!=':
      return v === undefined || v !== sel.value;
    case '~=':
      return v !== undefined && sel.regex!.test(v);
  }
}

/** Parses filter strings (OR of ANDs); an empty list matches everything. */
export function parseFilters(filters: string[]): Matcher {
  const alternatives = filters.filter((f) => f.trim() !== '').map(parseOne);
  if (alternatives.length === 0) return () => true;
  return (lookup) => alternatives.some((all) => all.every((sel) => matches(sel, lookup)));
}
