/**
 * CNI network configuration lists: found by network name in a directory of
 * `*.conflist` (or single-plugin `*.conf`, `*.json`) files, as libcni does, and
 * checked before anything runs. Errors name the file and the JSON path.
 *
 * Example:
 *   const list = loadConfList('create', '/etc/cni/net.d', 'podman');
 *   list.plugins.map((p) => p.type) // ["bridge", "portmap", "firewall", "tuning"]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../../runtime/errors';
import { NETWORK_ANNOTATION } from '../annotations';

export interface PluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

export interface ConfList {
  cniVersion: string;
  name: string;
  disableCheck?: boolean;
  plugins: PluginConf[];
  /** the file it came from */
  file: string;
  /** the file's bytes, cached with results as libcni does */
  bytes: Buffer;
}

function invalid(op: string, file: string, where: string, problem: string): HutchError {
  return new HutchError(op, `${file}: ${where}${where ? ': ' : ''}${problem}`, { kind: 'invalid-argument', path: file, field: where || undefined });
}

/** Parses one file's bytes into a list (a single-plugin .conf becomes a list of one). */
export function parseConfList(op: string, file: string, bytes: Buffer): ConfList {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalid(op, file, '', `not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(op, file, '', 'not a JSON object');
  const o = doc as Record<string, unknown>;
  if (typeof o.name !== 'string' || !o.name) throw invalid(op, file, 'name', 'missing or not a string');
  const cniVersion = o.cniVersion ?? '0.2.0';
  if (typeof cniVersion !== 'string') throw invalid(op, file, 'cniVersion', 'not a string');
  let plugins: unknown;
  if (o.plugins !== undefined) {
    plugins = o.plugins;
    if (!Array.isArray(plugins) || plugins.length === 0) throw invalid(op, file, 'plugins', 'must be a non-empty array');
  } else if (typeof o.type === 'string') {
    // a single plugin configuration (.conf): the whole object is the plugin
    const { name: _name, cniVersion: _version, ...conf } = o;
    void _name;
    void _version;
    plugins = [conf];
  } else {
    throw invalid(op, file, 'plugins', 'missing (and no "type" for a single-plugin configuration)');
  }
  const list = plugins as unknown[];
  list.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw invalid(op, file, `plugins[${i}]`, 'not a JSON object');
    const type = (p as Record<string, unknown>).type;
    if (typeof type !== 'string' || !/^[\w.+-]+$/.test(type)) throw invalid(op, file, `plugins[${i}].type`, 'missing or not a plain file name');
  });
  if (o.disableCheck !== undefined && typeof o.disableCheck !== 'boolean') throw invalid(op, file, 'disableCheck', 'not a boolean');
  return { cniVersion, name: o.name, disableCheck: o.disableCheck as boolean | undefined, plugins: list as PluginConf[], file, bytes };
}

/** The configuration list called `name` in `confDir` (the first file, in name order, as libcni picks). */
export function loadConfList(op: string, confDir: string, name: string): ConfList {
  let files: string[];
  try {
    files = fs.readdirSync(confDir).filter((f) => /\.(conflist|conf|json)$/.test(f)).sort();
  } catch (e) {
    throw new HutchError(op, `${NETWORK_ANNOTATION}: CNI network "${name}": cannot read ${confDir}: ${(e as Error).message}`, {
      kind: 'not-found',
      errno: (e as NodeJS.ErrnoException).code,
      path: confDir,
      field: NETWORK_ANNOTATION,
    });
  }
  for (const f of files) {
    const file = path.join(confDir, f);
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch {
      continue;
    }
    let peek: { name?: unknown };
    try {
      peek = JSON.parse(bytes.toString('utf8')) as { name?: unknown };
    } catch {
      continue; // a broken file for another network is not ours to report
    }
    if (peek?.name === name) return parseConfList(op, file, bytes);
  }
  throw new HutchError(op, `${NETWORK_ANNOTATION}: no CNI network "${name}" in ${confDir}`, { kind: 'not-found', path: confDir, field: NETWORK_ANNOTATION });
}
