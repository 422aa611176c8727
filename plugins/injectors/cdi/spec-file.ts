/**
 * CDI spec files (JSON or YAML), validated the way the reference library reads them:
 * unknown fields make a file invalid, `cdiVersion` must be a known version at least as
 * new as the fields used, names must be valid, every device must edit something.
 * Errors name the file and the field:
 *   /etc/cdi/vendor.yaml: devices[0].containerEdits.deviceNodes[0].typ: unknown field
 *
 * Example:
 *   const spec = parseCdiSpec(fs.readFileSync(file, 'utf8'), file);
 *   spec.kind === 'vendor.com/device'; spec.devices[0].name === 'dev0'
 */
import * as path from 'node:path';
import { HutchError } from '../../../runtime/errors';
import { describe } from '../../settings';
import { checkClass, checkDeviceName, checkVendor } from './names';

export const CDI_VERSIONS = ['0.3.0', '0.4.0', '0.5.0', '0.6.0', '0.7.0', '0.8.0', '1.0.0', '1.1.0'] as const;
export const HOOK_NAMES = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;

export interface CdiDeviceNode {
  path: string;
  hostPath?: string;
  type?: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  permissions?: string;
  uid?: number;
  gid?: number;
}

export interface CdiMount {
  hostPath: string;
  containerPath: string;
  type?: string;
  options?: string[];
}

export interface CdiHook {
  hookName: (typeof HOOK_NAMES)[number];
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface CdiIntelRdt {
  closID?: string;
  l3CacheSchema?: string;
  memBwSchema?: string;
  schemata?: string[];
  enableMonitoring?: boolean;
}

export interface CdiContainerEdits {
  env?: string[];
  deviceNodes?: CdiDeviceNode[];
  mounts?: CdiMount[];
  hooks?: CdiHook[];
  additionalGids?: number[];
  intelRdt?: CdiIntelRdt;
  netDevices?: { hostInterfaceName: string; name: string }[];
}

export interface CdiDevice {
  name: string;
  annotations?: Record<string, string>;
  containerEdits: CdiContainerEdits;
}

export interface CdiSpec {
  cdiVersion: string;
  kind: string;
  annotations?: Record<string, string>;
  devices: CdiDevice[];
  containerEdits?: CdiContainerEdits;
}

class Checker {
  /** [field path, version] pairs that need a newer cdiVersion */
  readonly needs: { field: string; version: string }[] = [];
  constructor(readonly file: string) {}

  fail(field: string, problem: string): HutchError {
    return new HutchError('', `${this.file}: ${field ? `${field}: ` : ''}${problem}`, { kind: 'invalid-argument', path: this.file, field: field || undefined });
  }

  need(field: string, version: string): void {
    this.needs.push({ field, version });
  }

  object(v: unknown, field: string, known: readonly string[]): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw this.fail(field, `must be an object, not ${describe(v)}`);
    for (const k of Object.keys(v)) if (!known.includes(k)) throw this.fail(field ? `${field}.${k}` : k, `unknown field (known: ${known.join(', ')})`);
    return v as Record<string, unknown>;
  }

  string(v: unknown, field: string, required = false): string | undefined {
    if (v === undefined || v === null) {
      if (required) throw this.fail(field, 'required');
      return undefined;
    }
    if (typeof v !== 'string') throw this.fail(field, `must be a string, not ${describe(v)}`);
    if (required && v === '') throw this.fail(field, 'must not be empty');
    return v;
  }

  int(v: unknown, field: string, min: number, max: number): number | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw this.fail(field, `must be a whole number from ${min} to ${max}, not ${describe(v)}`);
    return v;
  }

  strings(v: unknown, field: string): string[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw this.fail(field, `must be a list of strings, not ${describe(v)}`);
    return v.map((s, i) => this.string(s, `${field}[${i}]`, false) ?? '');
  }

  list<T>(v: unknown, field: string, each: (item: unknown, field: string) => T): T[] | undefined {
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw this.fail(field, `must be a list, not ${describe(v)}`);
    return v.map((item, i) => each(item, `${field}[${i}]`));
  }

  annotations(v: unknown, field: string): Record<string, string> | undefined {
    if (v === undefined || v === null) return undefined;
    const obj = this.object(v, field, Object.keys(v as object));
    for (const [k, val] of Object.entries(obj)) this.string(val, `${field}["${k}"]`);
    if (Object.keys(obj).length) this.need(field, '0.6.0');
    return obj as Record<string, string>;
  }

  env(v: unknown, field: string): string[] | undefined {
    const env = this.strings(v, field);
    env?.forEach((e, i) => {
      if (e.indexOf('=') <= 0) throw this.fail(`${field}[${i}]`, `invalid environment variable "${e}" (want KEY=VALUE)`);
    });
    return env;
  }
}

function readDeviceNode(c: Checker, v: unknown, field: string): CdiDeviceNode {
  const o = c.object(v, field, ['path', 'hostPath', 'type', 'major', 'minor', 'fileMode', 'permissions', 'uid', 'gid']);
  const node: CdiDeviceNode = { path: c.string(o.path, `${field}.path`, true)! };
  node.hostPath = c.string(o.hostPath, `${field}.hostPath`);
  if (node.hostPath) c.need(`${field}.hostPath`, '0.5.0');
  node.type = c.string(o.type, `${field}.type`);
  if (node.type !== undefined && !['', 'b', 'c', 'u', 'p'].includes(node.type)) throw c.fail(`${field}.type`, `invalid device type "${node.type}" (b, c, u or p)`);
  node.major = c.int(o.major, `${field}.major`, 0, 2 ** 32 - 1);
  node.minor = c.int(o.minor, `${field}.minor`, 0, 2 ** 32 - 1);
  node.fileMode = c.int(o.fileMode, `${field}.fileMode`, 0, 0o7777777);
  node.permissions = c.string(o.permissions, `${field}.permissions`);
  if (node.permissions && node.permissions !== 'none' && !/^[rwm]+$/.test(node.permissions)) {
    throw c.fail(`${field}.permissions`, `invalid permissions "${node.permissions}" (letters of "rwm", or "none")`);
  }
  node.uid = c.int(o.uid, `${field}.uid`, 0, 2 ** 32 - 1);
  node.gid = c.int(o.gid, `${field}.gid`, 0, 2 ** 32 - 1);
  for (const k of Object.keys(node) as (keyof CdiDeviceNode)[]) if (node[k] === undefined) delete node[k];
  return node;
}

function readMount(c: Checker, v: unknown, field: string): CdiMount {
  const o = c.object(v, field, ['hostPath', 'containerPath', 'type', 'options']);
  const m: CdiMount = { hostPath: c.string(o.hostPath, `${field}.hostPath`, true)!, containerPath: c.string(o.containerPath, `${field}.containerPath`, true)! };
  const type = c.string(o.type, `${field}.type`);
  if (type) {
    m.type = type;
    c.need(`${field}.type`, '0.4.0');
  }
  const options = c.strings(o.options, `${field}.options`);
  if (options) m.options = options;
  return m;
}

function readHook(c: Checker, v: unknown, field: string): CdiHook {
  const o = c.object(v, field, ['hookName', 'path', 'args', 'env', 'timeout']);
  const hookName = c.string(o.hookName, `${field}.hookName`, true)!;
  if (!(HOOK_NAMES as readonly string[]).includes(hookName)) throw c.fail(`${field}.hookName`, `invalid hook name "${hookName}" (known: ${HOOK_NAMES.join(', ')})`);
  const h: CdiHook = { hookName: hookName as CdiHook['hookName'], path: c.string(o.path, `${field}.path`, true)! };
  const args = c.strings(o.args, `${field}.args`);
  if (args) h.args = args;
  const env = c.env(o.env, `${field}.env`);
  if (env) h.env = env;
  const timeout = c.int(o.timeout, `${field}.timeout`, 1, 2 ** 31 - 1);
  if (timeout !== undefined) h.timeout = timeout;
  return h;
}

function readEdits(c: Checker, v: unknown, field: string): CdiContainerEdits {
  if (v === undefined || v === null) return {};
  const o = c.object(v, field, ['env', 'deviceNodes', 'mounts', 'hooks', 'additionalGids', 'intelRdt', 'netDevices']);
  const e: CdiContainerEdits = {};
  const env = c.env(o.env, `${field}.env`);
  if (env?.length) e.env = env;
  const nodes = c.list(o.deviceNodes, `${field}.deviceNodes`, (x, f) => readDeviceNode(c, x, f));
  if (nodes?.length) e.deviceNodes = nodes;
  const mounts = c.list(o.mounts, `${field}.mounts`, (x, f) => readMount(c, x, f));
  if (mounts?.length) e.mounts = mounts;
  const hooks = c.list(o.hooks, `${field}.hooks`, (x, f) => readHook(c, x, f));
  if (hooks?.length) e.hooks = hooks;
  const gids = c.list(o.additionalGids, `${field}.additionalGids`, (x, f) => c.int(x, f, 0, 2 ** 32 - 1)!);
  if (gids?.length) {
    e.additionalGids = gids;
    c.need(`${field}.additionalGids`, '0.7.0');
  }
  if (o.intelRdt !== undefined && o.intelRdt !== null) {
    const r = c.object(o.intelRdt, `${field}.intelRdt`, ['closID', 'l3CacheSchema', 'memBwSchema', 'schemata', 'enableMonitoring']);
    const rdt: CdiIntelRdt = {};
    rdt.closID = c.string(r.closID, `${field}.intelRdt.closID`);
    if (rdt.closID !== undefined && rdt.closID !== '/' && (rdt.closID === '.' || rdt.closID === '..' || /[/\n]/.test(rdt.closID))) throw c.fail(`${field}.intelRdt.closID`, 'invalid ClosID');
    rdt.l3CacheSchema = c.string(r.l3CacheSchema, `${field}.intelRdt.l3CacheSchema`);
    rdt.memBwSchema = c.string(r.memBwSchema, `${field}.intelRdt.memBwSchema`);
    rdt.schemata = c.strings(r.schemata, `${field}.intelRdt.schemata`);
    if (r.enableMonitoring !== undefined && typeof r.enableMonitoring !== 'boolean') throw c.fail(`${field}.intelRdt.enableMonitoring`, 'must be true or false');
    rdt.enableMonitoring = r.enableMonitoring as boolean | undefined;
    for (const k of Object.keys(rdt) as (keyof CdiIntelRdt)[]) if (rdt[k] === undefined) delete rdt[k];
    e.intelRdt = rdt;
    c.need(`${field}.intelRdt`, '0.7.0');
    if (rdt.schemata?.length || rdt.enableMonitoring) c.need(`${field}.intelRdt`, '1.1.0');
  }
  const net = c.list(o.netDevices, `${field}.netDevices`, (x, f) => {
    const n = c.object(x, f, ['hostInterfaceName', 'name']);
    return { hostInterfaceName: c.string(n.hostInterfaceName, `${f}.hostInterfaceName`, true)!, name: c.string(n.name, `${f}.name`, true)! };
  });
  if (net?.length) {
    e.netDevices = net;
    c.need(`${field}.netDevices`, '1.1.0');
  }
  return e;
}

export function editsAreEmpty(e: CdiContainerEdits): boolean {
  return !(e.env?.length || e.deviceNodes?.length || e.mounts?.length || e.hooks?.length || e.additionalGids?.length || e.intelRdt || e.netDevices?.length);
}

function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
}

function parseText(text: string, file: string): unknown {
  if (path.extname(file) === '.json') {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new HutchError('', `${file}: not valid JSON: ${(e as Error).message}`, { kind: 'invalid-argument', path: file });
    }
  }
  const YAML = require('yaml') as typeof import('yaml');
  try {
    // YAML 1.1, as the reference library's parser reads it (0644 is octal there).
    return YAML.parse(text, { version: '1.1', uniqueKeys: true, prettyErrors: false });
  } catch (e) {
    throw new HutchError('', `${file}: not valid YAML: ${(e as Error).message.split('\n')[0]}`, { kind: 'invalid-argument', path: file });
  }
}

/** Parses and validates one CDI spec file's text. */
export function parseCdiSpec(text: string, file: string): CdiSpec {
  const c = new Checker(file);
  const o = c.object(parseText(text, file), '', ['cdiVersion', 'kind', 'annotations', 'devices', 'containerEdits']);
  const cdiVersion = c.string(o.cdiVersion, 'cdiVersion', true)!;
  if (!(CDI_VERSIONS as readonly string[]).includes(cdiVersion)) {
    throw c.fail('cdiVersion', `unsupported version "${cdiVersion}" (known: ${CDI_VERSIONS.join(', ')})`);
  }
  const kind = c.string(o.kind, 'kind', true)!;
  const slash = kind.indexOf('/');
  if (slash < 0) throw c.fail('kind', `"${kind}" is not vendor/class`);
  const problem = checkVendor(kind.slice(0, slash)) ?? checkClass(kind.slice(slash + 1));
  if (problem) throw c.fail('kind', problem);
  if (kind.slice(slash + 1).includes('.')) c.need('kind', '0.6.0');
  const spec: CdiSpec = { cdiVersion, kind, devices: [] };
  const annotations = c.annotations(o.annotations, 'annotations');
  if (annotations) spec.annotations = annotations;
  const devices = c.list(o.devices, 'devices', (x, f) => {
    const d = c.object(x, f, ['name', 'annotations', 'containerEdits']);
    const name = c.string(d.name, `${f}.name`, true)!;
    const bad = checkDeviceName(name);
    if (bad) throw c.fail(`${f}.name`, bad);
    if (/^[0-9]/.test(name)) c.need(`${f}.name`, '0.5.0');
    const device: CdiDevice = { name, containerEdits: readEdits(c, d.containerEdits, `${f}.containerEdits`) };
    if (editsAreEmpty(device.containerEdits)) throw c.fail(`${f}.containerEdits`, `device "${name}" edits nothing (empty containerEdits)`);
    const da = c.annotations(d.annotations, `${f}.annotations`);
    if (da) device.annotations = da;
    return device;
  });
  if (!devices?.length) throw c.fail('devices', 'at least one device is required');
  const seen = new Set<string>();
  devices.forEach((d, i) => {
    if (seen.has(d.name)) throw c.fail(`devices[${i}].name`, `device "${d.name}" is defined twice in this file`);
    seen.add(d.name);
  });
  spec.devices = devices;
  if (o.containerEdits !== undefined) spec.containerEdits = readEdits(c, o.containerEdits, 'containerEdits');
  for (const n of c.needs) {
    if (compareVersions(cdiVersion, n.version) < 0) throw c.fail(n.field, `needs cdiVersion ${n.version} or newer (the file says ${cdiVersion})`);
  }
  return spec;
}
