/**
 * The `hutch` command line: global flags, then a command loaded on demand.
 * Errors become one line (runc's style) and exit status 1.
 */
import { flagBool, flagString, parseArgs, usageOf, type FlagSpec } from './args';
import { commandHelp, type Command, type GlobalOptions } from './command';
import { HutchError } from '../errors';
import { createCliLogger, type CliLogger } from '../log';
import { print } from './output';
import { VERSION, SPEC_VERSION } from '../version';

/** Every command, loaded only when used (keeps `hutch state` from paying for `create`). */
const COMMANDS: Record<string, () => Command> = {
  create: () => require('./commands/create').command,
  start: () => require('./commands/start').command,
  run: () => require('./commands/run').command,
  exec: () => require('./commands/exec').command,
  state: () => require('./commands/state').command,
  kill: () => require('./commands/kill').command,
  delete: () => require('./commands/delete').command,
  list: () => require('./commands/list').command,
  spec: () => require('./commands/spec').command,
  features: () => require('./commands/features').command,
  wrap: () => require('./commands/wrap').command,
  cdi: () => require('./commands/cdi').command,
  image: () => require('./commands/image').command,
  bundle: () => require('./commands/bundle').command,
  snapshotter: () => require('./commands/snapshotter').command,
  network: () => require('./commands/network').command,
  pause: () => require('./commands/pause').command,
  resume: () => require('./commands/resume').command,
  ps: () => require('./commands/ps').command,
  update: () => require('./commands/update').command,
  events: () => require('./commands/events').command,
  checkpoint: () => require('./commands/checkpoint').checkpoint,
  restore: () => require('./commands/checkpoint').restore,
};

const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', type: 'string', help: 'root directory for storage of container state (default "/run/hutch", or "$XDG_RUNTIME_DIR/hutch" when not root)' },
  { name: 'log', type: 'string', help: 'log file path (default stderr)' },
  { name: 'log-format', type: 'string', help: 'log format: text (default) or json' },
  { name: 'debug', type: 'bool', help: 'enable debug logging' },
  { name: 'systemd-cgroup', type: 'bool', help: 'use systemd for cgroups (not supported yet)' },
  { name: 'config', type: 'string', help: "hutch's configuration file (default $HUTCH_CONFIG or /etc/hutch/config.*)" },
  { name: 'rootless', type: 'string', help: 'ignore cgroup permission errors: true, false or auto (default)' },
  { name: 'criu', type: 'string', help: 'path to criu (accepted for compatibility)', ignored: true },
  { name: 'help', short: 'h', type: 'bool', help: 'show help' },
  { name: 'version', short: 'v', type: 'bool', help: 'print the version' },
];

/** Splits argv into global flags and the command with its arguments. */
function splitGlobal(argv: string[]): { global: string[]; name?: string; rest: string[] } {
  const valued = new Set(GLOBAL_FLAGS.filter((f) => f.type !== 'bool').map((f) => f.name));
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) return { global: argv.slice(0, i), name: a, rest: argv.slice(i + 1) };
    const name = a.replace(/^--?/, '');
    if (!name.includes('=') && valued.has(name)) i++;
  }
  return { global: argv, rest: [] };
}

/** runc's default: /run/runc, or $XDG_RUNTIME_DIR/runc for an unprivileged user. */
function defaultRoot(): string {
  const xdg = process.env.XDG_RUNTIME_DIR;
  if (xdg && process.geteuid?.() !== 0) return `${xdg.replace(/\/+$/, '')}/hutch`;
  return '/run/hutch';
}

function globalsOf(argv: string[]): { globals: GlobalOptions; help: boolean; version: boolean } {
  const parsed = parseArgs('', argv, GLOBAL_FLAGS);
  const format = flagString(parsed, 'log-format') ?? 'text';
  if (format !== 'text' && format !== 'json') {
    throw new HutchError('', `--log-format: unknown format "${format}" (want text or json)`, { kind: 'invalid-argument', field: '--log-format' });
  }
  return {
    globals: {
      root: flagString(parsed, 'root') ?? defaultRoot(),
      log: flagString(parsed, 'log'),
      logFormat: format,
      debug: flagBool(parsed, 'debug'),
      systemdCgroup: flagBool(parsed, 'systemd-cgroup'),
      config: flagString(parsed, 'config') ?? process.env.HUTCH_CONFIG,
      rootless: flagString(parsed, 'rootless') ?? 'auto',
    },
    help: flagBool(parsed, 'help'),
    version: flagBool(parsed, 'version'),
  };
}

function printVersion(): void {
  // go-runc parses the first line as "runc version X"; callers that ask get the rest.
  print(`runc version 1.1.5+hutch.${VERSION}\ncommit: hutch-${VERSION}\nspec: ${SPEC_VERSION}\nhutch: ${VERSION}`);
}

function printHelp(): void {
  const names = Object.keys(COMMANDS).sort();
  print(
    `hutch — an OCI container runtime (runc-compatible command line)\n\nUSAGE:\n   hutch [global options] command [command options] [arguments...]\n\nCOMMANDS:\n   ${names.join(', ')}\n\nGLOBAL OPTIONS:\n${usageOf(GLOBAL_FLAGS)}`,
  );
}

function reportError(err: unknown, log: CliLogger): void {
  const message = err instanceof Error ? err.message : String(err);
  log.error(message);
  // With --log, runc also prints the bare message to stderr for humans.
  if (log.toFile) process.stderr.write(`${message}\n`);
  if (!(err instanceof HutchError) && process.env.HUTCH_DEBUG_STACK) process.stderr.write(`${(err as Error).stack}\n`);
}

export async function runCli(argv: string[]): Promise<number> {
  let log: CliLogger = createCliLogger({ logFormat: 'text', debug: false });
  try {
    const split = splitGlobal(argv);
    const { globals, help, version } = globalsOf(split.global);
    log = createCliLogger(globals);
    log.debug(`hutch ${split.name ?? ''}: flags parsed`);
    if (version) {
      printVersion();
      return 0;
    }
    if (!split.name || help) {
      printHelp();
      return split.name || help ? 0 : 1;
    }
    const load = COMMANDS[split.name];
    if (!load) throw new HutchError('', `No help topic for '${split.name}' (unknown command)`, { kind: 'invalid-argument' });
    if (globals.systemdCgroup) {
      throw new HutchError(split.name, '--systemd-cgroup: the systemd cgroup driver is not supported yet (use the default cgroupfs driver)', {
        kind: 'unimplemented',
        field: '--systemd-cgroup',
      });
    }
    const command = load();
    log.debug(`hutch ${split.name}: command loaded`);
    // help only for hutch's own flags: after "--" the words belong to someone else (wrap)
    const own = split.rest.indexOf('--') >= 0 ? split.rest.slice(0, split.rest.indexOf('--')) : split.rest;
    if (own.includes('--help') || own.includes('-h')) {
      print(commandHelp(command.name, command));
      return 0;
    }
    const args = parseArgs(command.name, split.rest, command.flags, command.stopAtPositional);
    for (const f of command.flags) if (f.ignored && args.flags.has(f.name)) log.debug(`--${f.name} is accepted and ignored`);
    return (await command.run({ globals, args, log })) ?? 0;
  } catch (err) {
    reportError(err, log);
    return 1;
  }
}

export function main(argv: string[]): void {
  runCli(argv).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`hutch: ${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
