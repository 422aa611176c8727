/**
 * What a CLI command is: one small module per command under runtime/cli/commands/,
 * loaded only when that command runs. A command parses nothing itself beyond its
 * flags and calls the runtime library; no behaviour lives in a CLI file.
 */
import { usageOf, type FlagSpec, type ParsedArgs } from './args';
import type { CliLogger } from '../log';
import { HutchError } from '../errors';

export interface GlobalOptions {
  /** --root: state directory (default /run/hutch) */
  root: string;
  /** --log: log file (default stderr) */
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
  systemdCgroup: boolean;
  /** --config / HUTCH_CONFIG: hutch's own configuration file */
  config?: string;
  /** --rootless true|false|auto */
  rootless: string;
}

export interface CommandContext {
  globals: GlobalOptions;
  args: ParsedArgs;
  log: CliLogger;
}

export interface Command {
  name: string;
  /** one line for the command list */
  summary: string;
  /** e.g. "<container-id>" */
  usage: string;
  flags: FlagSpec[];
  /** exec and ps: everything after the first positional belongs to the container */
  stopAtPositional?: boolean;
  /** Returns the exit status (default 0). Throws HutchError on failure. */
  run(ctx: CommandContext): Promise<number | void>;
}

/** `--help` of a command; `path` is how it is called after "hutch" ("run", "image import"). */
export function commandHelp(path: string, command: Command): string {
  return `USAGE:\n   hutch ${path} [command options] ${command.usage}\n\n${command.summary}\n\nOPTIONS:\n${usageOf(command.flags)}`;
}

export function requireId(op: string, ctx: CommandContext): string {
  const id = ctx.args.positionals[0];
  if (!id) {
    throw new HutchError(op, `"${op}" requires a container id (usage: hutch ${op} <container-id>)`, { kind: 'invalid-argument' });
  }
  return id;
}
