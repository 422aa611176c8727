/**
 * `hutch wrap -- RUNTIME ARGS…`: hutch's spec injectors in front of another OCI
 * runtime, the way nvidia-container-runtime wraps runc. On `create` (and `run`) the
 * bundle's config.json is edited in place — the bundle is `-b`/`--bundle`, else the
 * current directory — and then RUNTIME runs with the original arguments; any other
 * command passes through untouched. If injection fails, RUNTIME does not run, the
 * bundle is unchanged, and the error goes to stderr and to RUNTIME's `--log` (in its
 * `--log-format`), where containerd and Docker look for it.
 *
 * Node cannot execve itself, so RUNTIME runs as a child with our stdin/stdout/stderr
 * and the fds `--preserve-fds` names; signals are forwarded and its exit status (or
 * signal) becomes ours. runc's container process is reparented to the caller's
 * subreaper as usual: this process is not one.
 *
 * Example (a Docker runtime):
 *   #!/bin/sh
 *   exec hutch wrap -- runc "$@"
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HutchError } from './errors';
import { formatLine } from './log';
import type { Spec } from './spec/types';
import type { PluginLog } from '../plugins/plugin';

/** runc's global flags that take a value. */
const GLOBAL_VALUED = new Set(['root', 'log', 'log-format', 'criu', 'rootless']);
/** create/run flags that take a value. */
const COMMAND_VALUED = new Set(['bundle', 'b', 'console-socket', 'pid-file', 'preserve-fds']);

export interface RuntimeInvocation {
  command?: string;
  /** -b/--bundle as given */
  bundle?: string;
  id?: string;
  log?: string;
  logFormat?: string;
  preserveFds: number;
}

function flagName(token: string): { name: string; value?: string } {
  const body = token.replace(/^--?/, '');
  const eq = body.indexOf('=');
  return eq >= 0 ? { name: body.slice(0, eq), value: body.slice(eq + 1) } : { name: body };
}

/** Reads what hutch needs from a runc-style command line. */
export function parseRuntimeArgs(args: readonly string[]): RuntimeInvocation {
  const out: RuntimeInvocation = { preserveFds: 0 };
  let i = 0;
  for (; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith('-') || a === '-') break;
    const { name, value } = flagName(a);
    if (!GLOBAL_VALUED.has(name)) continue;
    const v = value ?? args[++i];
    if (name === 'log') out.log = v;
    if (name === 'log-format') out.logFormat = v;
  }
  out.command = args[i];
  for (i++; i < args.length; i++) {
    const a = args[i];
    if (a === '--') {
      out.id ??= args[i + 1];
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      out.id ??= a;
      continue;
    }
    const { name, value } = flagName(a);
    if (!COMMAND_VALUED.has(name)) continue;
    const v = value ?? args[++i];
    if (name === 'b' || name === 'bundle') out.bundle = v;
    if (name === 'preserve-fds') out.preserveFds = /^\d+$/.test(v ?? '') ? Number(v) : 0;
  }
  return out;
}

function writeSpecAtomically(file: string, spec: Spec): void {
  const mode = fs.statSync(file).mode & 0o7777;
  const tmp = path.join(path.dirname(file), `.config.json.hutch-${process.pid}`);
  try {
    fs.writeFileSync(tmp, JSON.stringify(spec), { mode });
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new HutchError('wrap', `writing ${file}: ${(e as Error).message}`, { errno: (e as NodeJS.ErrnoException).code, path: file });
  }
}

/** Applies the injectors to the bundle of a create/run command line; no-op for other commands. */
export async function injectBundle(inv: RuntimeInvocation, configPath: string | undefined, log: PluginLog): Promise<void> {
  if (inv.command !== 'create' && inv.command !== 'run') return;
  const bundle = path.resolve(inv.bundle ?? process.cwd());
  const file = path.join(bundle, 'config.json');
  let spec: Spec;
  try {
    spec = JSON.parse(fs.readFileSync(file, 'utf8')) as Spec;
  } catch (e) {
    throw new HutchError('wrap', `reading ${file}: ${(e as Error).message}`, { errno: (e as NodeJS.ErrnoException).code, path: file });
  }
  const { injectSpec } = require('../plugins/inject') as typeof import('../plugins/inject');
  const id = inv.id ?? '';
  const out = await injectSpec(spec, { id, bundle, annotations: spec.annotations ?? {}, log }, configPath);
  if (out !== spec) writeSpecAtomically(file, out);
}

/** Writes an error where the wrapped runtime's caller reads it (its --log, in its format). */
export function reportToRuntimeLog(inv: RuntimeInvocation, message: string): void {
  if (!inv.log) return;
  try {
    fs.appendFileSync(inv.log, formatLine(inv.logFormat === 'json' ? 'json' : 'text', 'error', message));
  } catch {
    // the message also goes to stderr
  }
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

/** Runs the runtime with our stdio and preserved fds; resolves with its exit status (128+n for a signal). */
export function runRuntime(runtime: string, args: readonly string[], preserveFds: number): Promise<number> {
  const stdio: (number | 'inherit')[] = ['inherit', 'inherit', 'inherit'];
  for (let fd = 3; fd < 3 + preserveFds; fd++) stdio.push(fd);
  return new Promise((resolve, reject) => {
    const child = spawn(runtime, args, { stdio, argv0: path.basename(runtime) });
    const handlers = FORWARDED.map((sig) => {
      const h = (): void => {
        child.kill(sig);
      };
      process.on(sig, h);
      return [sig, h] as const;
    });
    const done = (): void => {
      for (const [sig, h] of handlers) process.off(sig, h);
    };
    child.on('error', (e) => {
      done();
      reject(new HutchError('wrap', `running ${runtime}: ${e.message}`, { errno: (e as NodeJS.ErrnoException).code, path: runtime }));
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0));
    });
  });
}
