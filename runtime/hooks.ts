/**
 * OCI hooks that run in the runtime's namespaces (prestart, createRuntime,
 * poststart, poststop): state JSON on stdin, `args` as the full argv, `env` as the
 * whole environment (inherited when absent), SIGKILL at the timeout. Output is kept
 * for the error message. (createContainer and startContainer run inside the
 * container, from hutch-init.)
 */
import type { spawn as spawnType } from 'node:child_process';
import { HutchError } from './errors';
import type { Hook, HookStage, OciState } from './spec/types';

const MAX_OUTPUT = 4096;

function envObject(list: string[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const e of list) {
    const eq = e.indexOf('=');
    if (eq > 0) env[e.slice(0, eq)] = e.slice(eq + 1);
  }
  return env;
}

function runHook(op: string, stage: HookStage, index: number, hook: Hook, state: string, cwd: string): Promise<void> {
  const argv = hook.args && hook.args.length ? hook.args : [hook.path];
  // loaded here: most containers have no runtime-side hooks, and the module costs start-up time
  const { spawn } = require('node:child_process') as { spawn: typeof spawnType };
  return new Promise((resolve, reject) => {
    const child = spawn(hook.path, argv.slice(1), {
      argv0: argv[0],
      cwd,
      env: hook.env ? envObject(hook.env) : process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (b: Buffer): void => {
      if (output.length < MAX_OUTPUT) output += b.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.stdin.on('error', () => undefined); // a hook need not read its stdin
    child.stdin.end(state);
    let timedOut = false;
    const timer = hook.timeout ? setTimeout(() => ((timedOut = true), child.kill('SIGKILL')), hook.timeout * 1000) : undefined;
    const what = `${stage} hook #${index} (${hook.path})`;
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new HutchError(op, `${what}: ${e.message}`, { step: 'hook', errno: (e as NodeJS.ErrnoException).code }));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const out = output.trim() ? `: ${output.trim().slice(0, MAX_OUTPUT)}` : '';
      if (timedOut) reject(new HutchError(op, `${what} ran past specified timeout of ${hook.timeout}s`, { step: 'hook', errno: 'ETIMEDOUT' }));
      else if (code === 0) resolve();
      else if (signal) reject(new HutchError(op, `${what} killed by signal ${signal}${out}`, { step: 'hook' }));
      else reject(new HutchError(op, `${what} failed with exit status ${code}${out}`, { step: 'hook' }));
    });
  });
}

/** Runs a stage's hooks in order; the first failure stops the stage and is thrown. */
export async function runHooks(op: string, stage: HookStage, hooks: Hook[] | undefined, state: OciState, cwd: string): Promise<void> {
  const json = JSON.stringify(state);
  for (const [i, hook] of (hooks ?? []).entries()) await runHook(op, stage, i, hook, json, cwd);
}
