/**
 * The shim's command line, parsed the way Go's `flag` package parses containerd's
 * shims: `-name value`, `-name=value`, one or two dashes; a bool flag takes no
 * separate value (`-debug`, `-debug=false`); parsing stops at the first argument that
 * is not a flag (the action) or at `--`.
 *
 * Example: parseShimFlags(['-namespace', 'k8s.io', '--id=abc', 'start'])
 *          → { namespace: 'k8s.io', id: 'abc', action: 'start', … }
 */

export interface ShimFlags {
  namespace: string;
  /** containerd's gRPC socket */
  address: string;
  publishBinary: string;
  id: string;
  /** empty: the working directory */
  bundle: string;
  /** serve here instead of the inherited socket */
  socket: string;
  debug: boolean;
  version: boolean;
  help: boolean;
  /** 'start', 'delete', or '' (serve) */
  action: string;
  /** arguments after the action */
  rest: string[];
}

/** A command-line error; Go's flag package exits 2 for these. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

type Kind = 'string' | 'bool';

const FLAGS: Record<string, { key: keyof ShimFlags; kind: Kind; help: string }> = {
  namespace: { key: 'namespace', kind: 'string', help: 'namespace that owns the shim' },
  address: { key: 'address', kind: 'string', help: 'grpc address back to main containerd' },
  'publish-binary': { key: 'publishBinary', kind: 'string', help: 'path to publish binary (used for publishing events)' },
  id: { key: 'id', kind: 'string', help: 'id of the task' },
  bundle: { key: 'bundle', kind: 'string', help: 'path to the bundle if not workdir' },
  socket: { key: 'socket', kind: 'string', help: 'socket path to serve' },
  debug: { key: 'debug', kind: 'bool', help: 'enable debug output in logs' },
  v: { key: 'version', kind: 'bool', help: 'show the shim version and exit' },
};

export function usage(program: string): string {
  const lines = [`Usage of ${program}:`];
  for (const [name, f] of Object.entries(FLAGS)) {
    lines.push(`  -${name}${f.kind === 'string' ? ' string' : ''}`, `    \t${f.help}`);
  }
  return lines.join('\n');
}

function parseBool(name: string, value: string): boolean {
  // strconv.ParseBool
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  throw new FlagError(`invalid boolean value "${value}" for -${name}: parse error`);
}

export function parseShimFlags(argv: readonly string[]): ShimFlags {
  const flags: ShimFlags = {
    namespace: '',
    address: '',
    publishBinary: 'containerd',
    id: '',
    bundle: '',
    socket: '',
    debug: false,
    version: false,
    help: false,
    action: '',
    rest: [],
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.length < 2 || arg[0] !== '-') break; // the first non-flag: the action
    let body = arg.slice(1);
    if (body[0] === '-') {
      body = body.slice(1);
      if (body.length === 0) {
        i++; // "--" ends the flags
        break;
      }
    }
    if (body.length === 0 || body[0] === '-' || body[0] === '=') throw new FlagError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    const value = eq >= 0 ? body.slice(eq + 1) : undefined;
    if (name === 'h' || name === 'help') {
      flags.help = true;
      continue;
    }
    const spec = Object.prototype.hasOwnProperty.call(FLAGS, name) ? FLAGS[name] : undefined;
    if (!spec) throw new FlagError(`flag provided but not defined: -${name}`);
    if (spec.kind === 'bool') {
      (flags[spec.key] as boolean) = value === undefined ? true : parseBool(name, value);
      continue;
    }
    if (value !== undefined) {
      (flags[spec.key] as string) = value;
      continue;
    }
    if (i + 1 >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
    (flags[spec.key] as string) = argv[++i];
  }
  flags.action = argv[i] ?? '';
  flags.rest = argv.slice(i + 1);
  return flags;
}
