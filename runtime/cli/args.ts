/**
 * Command-line parsing the way runc's urfave/cli does it: flags as `--name value`,
 * `--name=value`, `-name value` or a short alias (`-b value`); booleans take an
 * optional `=true|false`; flags may follow positionals unless the command stops at
 * its first positional (exec, ps: the rest belongs to the container's command).
 */
import { HutchError } from '../errors';

export type FlagType = 'bool' | 'string' | 'int' | 'list';

export interface FlagSpec {
  name: string;
  short?: string;
  type: FlagType;
  /** one line for --help */
  help: string;
  /** accepted and ignored (runc compatibility), with a debug log */
  ignored?: boolean;
}

export interface ParsedArgs {
  flags: Map<string, string | boolean | string[]>;
  positionals: string[];
}

export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

export function flagBool(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true;
}

export function flagList(args: ParsedArgs, name: string): string[] {
  const v = args.flags.get(name);
  return Array.isArray(v) ? v : [];
}

export function flagInt(op: string, args: ParsedArgs, name: string): number | undefined {
  const v = flagString(args, name);
  if (v === undefined) return undefined;
  if (!/^-?\d+$/.test(v)) throw new HutchError(op, `--${name}: "${v}" is not an integer`, { kind: 'invalid-argument', field: `--${name}` });
  return Number(v);
}

function findFlag(specs: FlagSpec[], token: string): FlagSpec | undefined {
  return specs.find((s) => s.name === token || s.short === token);
}

function parseBool(op: string, name: string, value: string): boolean {
  if (/^(true|1|t|yes)$/i.test(value)) return true;
  if (/^(false|0|f|no)$/i.test(value)) return false;
  throw new HutchError(op, `--${name}: invalid boolean "${value}"`, { kind: 'invalid-argument', field: `--${name}` });
}

/**
 * Parses `argv` against `specs`. With `stopAtPositional`, the first positional and
 * everything after it are positionals.
 */
export function parseArgs(op: string, argv: string[], specs: FlagSpec[], stopAtPositional = false): ParsedArgs {
  const flags = new Map<string, string | boolean | string[]>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      if (stopAtPositional) {
        positionals.push(...argv.slice(i + 1));
        break;
      }
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const spec = findFlag(specs, name);
    if (!spec) throw new HutchError(op, `flag provided but not defined: -${name}`, { kind: 'invalid-argument', field: arg });
    let value: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (spec.type === 'bool') {
      flags.set(spec.name, value === undefined ? true : parseBool(op, spec.name, value));
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new HutchError(op, `flag needs an argument: ${arg}`, { kind: 'invalid-argument', field: arg });
      value = argv[++i];
    }
    if (spec.type === 'list') {
      const prev = flags.get(spec.name);
      flags.set(spec.name, [...(Array.isArray(prev) ? prev : []), value]);
    } else {
      flags.set(spec.name, value);
    }
  }
  return { flags, positionals };
}

export function usageOf(specs: FlagSpec[]): string {
  return specs
    .filter((s) => !s.ignored)
    .map((s) => {
      const names = [s.short ? `-${s.short}` : '', `--${s.name}`].filter(Boolean).join(', ');
      const arg = s.type === 'bool' ? '' : ' value';
      return `   ${`${names}${arg}`.padEnd(30)} ${s.help}`;
    })
    .join('\n');
}
