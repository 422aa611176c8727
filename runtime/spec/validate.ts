/**
 * Validation of a parsed config.json. Every error names the JSON path
 * (`linux.namespaces[2].type: unknown namespace "nett"`). Returns the document typed
 * as a Spec; semantic checks that need the host (rootfs exists, namespace paths)
 * live here too so `create` fails before it builds anything.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Checker, type Json } from './check';
import { capabilityMask } from './capabilities';
import { RLIMITS } from './rlimits';
import { rootfsPropagationFlags } from './mount-options';
import { seccompProgram } from './seccomp';
import { HOOK_STAGES, NAMESPACE_TYPES, type NamespaceType, type Process, type Spec } from './types';
import { checkOciVersion } from './version';
import { checkSysctls } from './sysctl';

function checkProcess(c: Checker, p: Record<string, Json>): void {
  const base = 'process';
  const user = c.object(p.user, `${base}.user`);
  c.int(user.uid, `${base}.user.uid`, 0, 2 ** 32 - 1);
  c.int(user.gid, `${base}.user.gid`, 0, 2 ** 32 - 1);
  c.optional(user, 'umask', `${base}.user`, (v, f) => c.int(v, f, 0, 0o777));
  c.optional(user, 'additionalGids', `${base}.user`, (v, f) => c.array(v, f).forEach((g, i) => c.int(g, `${f}[${i}]`, 0, 2 ** 32 - 1)));
  const args = c.optional(p, 'args', base, (v, f) => c.strings(v, f));
  if (!args || args.length === 0) c.fail(`${base}.args`, 'must name the program to run');
  if (args[0] === '') c.fail(`${base}.args[0]`, 'is empty');
  c.optional(p, 'env', base, (v, f) => c.strings(v, f));
  c.absolute(p.cwd, `${base}.cwd`);
  c.optional(p, 'terminal', base, (v, f) => c.bool(v, f));
  c.optional(p, 'noNewPrivileges', base, (v, f) => c.bool(v, f));
  c.optional(p, 'oomScoreAdj', base, (v, f) => c.int(v, f, -1000, 1000));
  c.optional(p, 'consoleSize', base, (v, f) => {
    const s = c.object(v, f);
    c.int(s.height, `${f}.height`, 0, 65535);
    c.int(s.width, `${f}.width`, 0, 65535);
  });
  c.optional(p, 'capabilities', base, (v, f) => {
    const caps = c.object(v, f);
    for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
      c.optional(caps, set, f, (names, sf) => capabilityMask(c.op, sf, c.strings(names, sf)));
    }
  });
  c.optional(p, 'rlimits', base, (v, f) => {
    const seen = new Set<string>();
    c.array(v, f).forEach((r, i) => {
      const rf = `${f}[${i}]`;
      const rl = c.object(r, rf);
      const type = c.string(rl.type, `${rf}.type`);
      if (!(type in RLIMITS)) c.fail(`${rf}.type`, `unknown rlimit "${type}"`);
      if (seen.has(type)) c.fail(`${rf}.type`, `duplicate rlimit "${type}"`);
      seen.add(type);
      const soft = c.int(rl.soft, `${rf}.soft`, 0);
      const hard = c.int(rl.hard, `${rf}.hard`, 0);
      if (soft > hard) c.fail(rf, `soft limit ${soft} is above the hard limit ${hard}`);
    });
  });
}

function checkNamespaces(c: Checker, linux: Record<string, Json>): Map<NamespaceType, string | undefined> {
  const found = new Map<NamespaceType, string | undefined>();
  c.optional(linux, 'namespaces', 'linux', (v, f) =>
    c.array(v, f).forEach((n, i) => {
      const nf = `${f}[${i}]`;
      const ns = c.object(n, nf);
      const type = c.string(ns.type, `${nf}.type`);
      if (!(NAMESPACE_TYPES as readonly string[]).includes(type)) c.fail(`${nf}.type`, `unknown namespace "${type}"`);
      if (found.has(type as NamespaceType)) c.fail(`${nf}.type`, `duplicate namespace "${type}"`);
      const nsPath = c.optional(ns, 'path', nf, (p, pf) => c.absolute(p, pf));
      if (nsPath !== undefined && !fs.existsSync(nsPath)) c.fail(`${nf}.path`, `${nsPath}: no such file or directory`);
      found.set(type as NamespaceType, nsPath);
    }),
  );
  return found;
}

function checkIdMappings(c: Checker, linux: Record<string, Json>, hasUserNs: boolean): void {
  for (const key of ['uidMappings', 'gidMappings']) {
    c.optional(linux, key, 'linux', (v, f) => {
      if (!hasUserNs) c.fail(f, 'id mappings need a user namespace in linux.namespaces');
      c.array(v, f).forEach((m, i) => {
        const mf = `${f}[${i}]`;
        const map = c.object(m, mf);
        c.int(map.containerID, `${mf}.containerID`, 0, 2 ** 32 - 1);
        c.int(map.hostID, `${mf}.hostID`, 0, 2 ** 32 - 1);
        c.int(map.size, `${mf}.size`, 1, 2 ** 32 - 1);
      });
    });
  }
}

function checkMounts(c: Checker, spec: Record<string, Json>): void {
  c.optional(spec, 'mounts', '', (v) =>
    c.array(v, 'mounts').forEach((m, i) => {
      const mf = `mounts[${i}]`;
      const mount = c.object(m, mf);
      c.absolute(mount.destination, `${mf}.destination`);
      c.optional(mount, 'type', mf, (t, f) => c.string(t, f));
      c.optional(mount, 'source', mf, (s, f) => c.string(s, f));
      c.optional(mount, 'options', mf, (o, f) => c.strings(o, f));
    }),
  );
}

function checkHooks(c: Checker, spec: Record<string, Json>): void {
  c.optional(spec, 'hooks', '', (v) => {
    const hooks = c.object(v, 'hooks');
    for (const stage of HOOK_STAGES) {
      c.optional(hooks, stage, 'hooks', (list, f) =>
        c.array(list, f).forEach((h, i) => {
          const hf = `${f}[${i}]`;
          const hook = c.object(h, hf);
          c.absolute(hook.path, `${hf}.path`);
          c.optional(hook, 'args', hf, (a, af) => c.strings(a, af));
          c.optional(hook, 'env', hf, (e, ef) => c.strings(e, ef));
          c.optional(hook, 'timeout', hf, (t, tf) => c.int(t, tf, 1));
        }),
      );
    }
  });
}

function checkDevices(c: Checker, linux: Record<string, Json>): void {
  c.optional(linux, 'devices', 'linux', (v, f) =>
    c.array(v, f).forEach((d, i) => {
      const df = `${f}[${i}]`;
      const dev = c.object(d, df);
      const type = c.string(dev.type, `${df}.type`);
      if (!['c', 'b', 'u', 'p'].includes(type)) c.fail(`${df}.type`, `unknown device type "${type}" (want c, b, u or p)`);
      c.absolute(dev.path, `${df}.path`);
      if (type !== 'p') {
        c.int(dev.major, `${df}.major`, 0);
        c.int(dev.minor, `${df}.minor`, 0);
      }
      c.optional(dev, 'fileMode', df, (m, mf) => c.int(m, mf, 0, 0o7777));
      c.optional(dev, 'uid', df, (u, uf) => c.int(u, uf, 0));
      c.optional(dev, 'gid', df, (g, gf) => c.int(g, gf, 0));
    }),
  );
}

function checkLinux(c: Checker, spec: Record<string, Json>): void {
  const linux = c.object(spec.linux ?? {}, 'linux');
  const namespaces = checkNamespaces(c, linux);
  if (!namespaces.has('mount')) c.fail('linux.namespaces', 'a mount namespace is required');
  checkIdMappings(c, linux, namespaces.has('user'));
  checkDevices(c, linux);
  c.optional(linux, 'cgroupsPath', 'linux', (v, f) => c.string(v, f));
  c.optional(linux, 'resources', 'linux', (v, f) => c.object(v, f));
  c.optional(linux, 'rootfsPropagation', 'linux', (v, f) => {
    const s = c.string(v, f);
    if (rootfsPropagationFlags(s) === undefined) c.fail(f, `unknown propagation "${s}"`);
  });
  for (const key of ['maskedPaths', 'readonlyPaths']) {
    c.optional(linux, key, 'linux', (v, f) => c.array(v, f).forEach((p, i) => c.absolute(p, `${f}[${i}]`)));
  }
  c.optional(linux, 'sysctl', 'linux', (v, f) => {
    const sysctls = c.object(v, f);
    for (const [k, val] of Object.entries(sysctls)) c.string(val, `${f}.${k}`);
    checkSysctls(c, sysctls as Record<string, string>, namespaces);
  });
  c.optional(linux, 'seccomp', 'linux', (v, f) => {
    c.object(v, f);
    seccompProgram(c.op, v as never);
  });
  c.optional(linux, 'timeOffsets', 'linux', (v, f) => {
    if (!namespaces.has('time') || namespaces.get('time')) c.fail(f, 'time offsets need a new time namespace in linux.namespaces');
    for (const [clock, off] of Object.entries(c.object(v, f))) {
      if (clock !== 'monotonic' && clock !== 'boottime') c.fail(`${f}.${clock}`, `unknown clock "${clock}" (want monotonic or boottime)`);
      const o = c.object(off, `${f}.${clock}`);
      c.optional(o, 'secs', `${f}.${clock}`, (s, sf) => c.int(s, sf));
      c.optional(o, 'nanosecs', `${f}.${clock}`, (n, nf) => c.int(n, nf, 0, 999999999));
    }
  });
  c.optional(linux, 'personality', 'linux', (v, f) => {
    const domain = c.string(c.object(v, f).domain, `${f}.domain`);
    if (domain !== 'LINUX' && domain !== 'LINUX32') c.fail(`${f}.domain`, `unknown personality "${domain}" (want LINUX or LINUX32)`);
  });
  if (typeof spec.hostname === 'string' && spec.hostname && !namespaces.has('uts')) {
    c.fail('hostname', 'setting a hostname needs a uts namespace in linux.namespaces');
  }
  if (typeof spec.domainname === 'string' && spec.domainname && !namespaces.has('uts')) {
    c.fail('domainname', 'setting a domainname needs a uts namespace in linux.namespaces');
  }
}

function checkRoot(c: Checker, spec: Record<string, Json>, bundle: string): void {
  const root = c.object(spec.root, 'root');
  const rootPath = c.string(root.path, 'root.path');
  c.optional(root, 'readonly', 'root', (v, f) => c.bool(v, f));
  const abs = path.resolve(bundle, rootPath);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    c.fail('root.path', `rootfs "${abs}" does not exist`);
  }
  if (!st.isDirectory()) c.fail('root.path', `rootfs "${abs}" is not a directory`);
}

/** Checks `raw` (parsed config.json of the bundle at `bundle`) and returns it as a Spec. */
export function validateSpec(op: string, raw: unknown, bundle: string): Spec {
  const c = new Checker(op);
  const spec = c.object(raw, 'config.json');
  checkOciVersion(op, spec.ociVersion);
  checkRoot(c, spec, bundle);
  checkProcess(c, c.object(spec.process, 'process'));
  c.optional(spec, 'hostname', '', (v) => c.string(v, 'hostname'));
  c.optional(spec, 'domainname', '', (v) => c.string(v, 'domainname'));
  checkMounts(c, spec);
  checkHooks(c, spec);
  c.optional(spec, 'annotations', '', (v) => {
    for (const [k, val] of Object.entries(c.object(v, 'annotations'))) c.string(val, `annotations.${k}`);
  });
  checkLinux(c, spec);
  return spec as unknown as Spec;
}

/** Checks a lone `process` document (`exec --process FILE`) and returns it typed. */
export function validateProcess(op: string, raw: unknown): Process {
  const c = new Checker(op);
  checkProcess(c, c.object(raw, 'process'));
  return raw as Process;
}
