/**
 * Runs one CNI plugin binary as the CNI spec says: the command and container in
 * CNI_* environment variables, the network configuration on stdin, the result (or
 * a JSON error) on stdout.
 *
 * Example:
 *   const out = await execPlugin('create', { binary: '/usr/lib/cni/bridge', command: 'ADD',
 *     containerId: 'c1', netns: '/proc/42/ns/net', ifName: 'eth0', path: ['/usr/lib/cni'],
 *     config: { cniVersion: '1.0.0', name: 'net', type: 'bridge' } });
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../../runtime/errors';
import { spawnTied } from '../spawn';

export type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION';

export interface PluginCall {
  binary: string;
  command: CniCommand;
  containerId: string;
  /** empty when the namespace is gone (DEL) */
  netns: string;
  ifName: string;
  /** CNI_PATH */
  path: string[];
  /** CNI_ARGS pairs */
  args?: [string, string][];
  config: Record<string, unknown>;
}

/** The error object a plugin prints on failure (spec: code, msg, details). */
export interface CniErrorBody {
  cniVersion?: string;
  code?: number;
  msg?: string;
  details?: string;
}

/** A plugin failed; `message` carries its own `msg` and `details`. */
export class CniPluginError extends HutchError {
  constructor(
    op: string,
    readonly plugin: string,
    readonly command: CniCommand,
    readonly body: CniErrorBody | undefined,
    detail: string,
  ) {
    super(op, detail, { kind: body?.code === 11 ? 'unavailable' : 'internal', step: `cni ${command} ${plugin}` });
  }
}

/** The plugin binary `type` in the first of `dirs` that has it. */
export function findPlugin(dirs: string[], type: string): string | undefined {
  for (const d of dirs) {
    const p = path.join(d, type);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Runs the plugin; resolves with its parsed stdout (undefined when empty, as DEL may print nothing). */
export function execPlugin(op: string, call: PluginCall): Promise<Record<string, unknown> | undefined> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CNI_')) env[k] = v;
  Object.assign(env, {
    CNI_COMMAND: call.command,
    CNI_CONTAINERID: call.containerId,
    CNI_NETNS: call.netns,
    CNI_IFNAME: call.ifName,
    CNI_PATH: call.path.join(':'),
  });
  if (call.args?.length) env.CNI_ARGS = call.args.map(([k, v]) => `${k}=${v}`).join(';');
  const name = path.basename(call.binary);
  return new Promise((resolve, reject) => {
    const child = spawnTied(call.binary, [], { env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(new HutchError(op, `CNI plugin ${name}: ${call.command}: cannot run ${call.binary}: ${e.message}`, { errno: e.code, path: call.binary })),
    );
    child.stdin.on('error', () => undefined); // a plugin may exit without reading stdin
    child.stdin.end(JSON.stringify(call.config));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8').trim();
      const stderr = Buffer.concat(err).toString('utf8').trim();
      let parsed: Record<string, unknown> | undefined;
      try {
        parsed = stdout ? (JSON.parse(stdout) as Record<string, unknown>) : undefined;
      } catch {
        parsed = undefined;
      }
      if (code === 0) {
        if (stdout && !parsed) {
          reject(new CniPluginError(op, name, call.command, undefined, `CNI plugin ${name}: ${call.command}: output is not JSON: ${stdout.slice(0, 200)}`));
          return;
        }
        resolve(parsed);
        return;
      }
      const body = parsed as CniErrorBody | undefined;
      const why = body?.msg
        ? `${body.msg}${body.details ? ` (${body.details})` : ''}`
        : stderr.split('\n').slice(-1)[0] || stdout.slice(0, 200) || (signal ? `killed by ${signal}` : `exit status ${code}`);
      reject(new CniPluginError(op, name, call.command, body, `CNI plugin ${name}: ${call.command} failed: ${why}`));
    });
  });
}
