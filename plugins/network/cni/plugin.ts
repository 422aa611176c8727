/**
 * The CNI built-in: attaches a container to a CNI network by running the standard
 * plugin binaries of its configuration list (Debian's containernetworking-plugins:
 * bridge, host-local, portmap, loopback, firewall, ...), per the CNI spec:
 *
 * - ADD runs the plugins in order, each getting the previous one's result as
 *   `prevResult`; published ports go to plugins with the `portMappings` capability
 *   as `runtimeConfig.portMappings`. The final result is cached (libcni's format).
 * - DEL runs them in reverse with the cached result; CHECK in order with it.
 * - A failed ADD is followed by a DEL of the whole list, so nothing half-made stays.
 * - The namespace is pinned (bind-mounted under `<cacheDir>/netns/`) from ADD to
 *   DEL, as CRI runtimes do: the plugins' DEL needs it (the bridge plugin finds its
 *   masquerade rules through the addresses in it) and `delete` comes after the
 *   container's processes, and so its /proc/<pid>/ns/net, are gone.
 *
 * One instance serves every CNI network: the network is `<name>` of the container's
 * `io.hutch.network=cni:<name>` annotation, else the `network` setting; teardown and
 * check take it from the saved result.
 *
 * Example:
 *   const cni = new CniPlugin({ confDir: '/etc/cni/net.d' });
 *   const result = await cni.setup({ id: 'c1', netnsPath: '/proc/42/ns/net', pid: 42,
 *                                    annotations: { 'io.hutch.network': 'cni:podman' } });
 *   result.plugin // "cni:podman"
 *   await cni.teardown({ id: 'c1', result });
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../../addon';
import { HutchError } from '../../../runtime/errors';
import type { PluginContext } from '../../plugin';
import { NETWORK_ANNOTATION } from '../annotations';
import { resolveCniConfig, type CniConfig, type ResolvedCniConfig } from '../config';
import { isValidContainerId, netnsIdentity } from '../host';
import type { NetworkPlugin, NetworkRequest, NetworkResult, NetworkTeardownRequest } from '../plugin';
import { checkHostPortFree, parsePorts, PORTS_ANNOTATION, type PortMapping } from '../ports';
import { cachePath, readCache, removeCache, writeCache } from './cache';
import { loadConfList, parseConfList, type ConfList } from './conflist';
import { execPlugin, findPlugin, type CniCommand } from './exec';
import { toNetworkResult, versionAtLeast } from './result';

const MS_BIND = 0x1000;
const MNT_DETACH = 0x2;
const NSFS_MAGIC = 0x6e736673;

/** True when `file` is a namespace (a live pin), not the empty file under it. */
function isNamespaceFile(file: string): boolean {
  try {
    return fs.statfsSync(file).type === NSFS_MAGIC;
  } catch {
    return false;
  }
}

/** What `NetworkResult.data` holds for this plugin. */
export interface CniResultData {
  network: string;
  ifName: string;
  cacheDir: string;
  /** the bind mount that keeps the namespace alive until DEL */
  netnsPin: string;
}

type Json = Record<string, unknown>;

export class CniPlugin implements NetworkPlugin {
  readonly name = 'cni';
  readonly config: ResolvedCniConfig;

  /** `context` is what the plugin registry passes (unused here). */
  constructor(settings: CniConfig = {}, context?: Partial<PluginContext>) {
    this.config = resolveCniConfig(settings);
    void context;
  }

  /** The network a request is about: the result's, the annotation's, the configured one. */
  private networkOf(op: string, annotations: Record<string, string> | undefined, result?: NetworkResult): string {
    const fromResult = (result?.data as Partial<CniResultData> | undefined)?.network ?? /^cni:(.+)$/.exec(result?.plugin ?? '')?.[1];
    if (fromResult) return fromResult;
    const value = annotations?.[NETWORK_ANNOTATION];
    const named = value === undefined ? undefined : /^cni:(.+)$/.exec(value.trim())?.[1];
    if (named) {
      if (!/^[\w.+-]+$/.test(named)) throw new HutchError(op, `${NETWORK_ANNOTATION}: "${value}": "${named}" is not a CNI network name`, { kind: 'invalid-argument', field: NETWORK_ANNOTATION });
      return named;
    }
    if (this.config.network) return this.config.network;
    throw new HutchError(op, `${NETWORK_ANNOTATION}: which CNI network? Use cni:<name>, or set network.cni.network`, {
      kind: 'invalid-argument',
      field: NETWORK_ANNOTATION,
    });
  }

  /** Every plugin binary of the list, found before anything runs. */
  private binaries(op: string, list: ConfList): string[] {
    return list.plugins.map((p, i) => {
      const bin = findPlugin(this.config.binDirs, p.type);
      if (!bin) {
        throw new HutchError(op, `${list.file}: plugins[${i}].type: CNI plugin "${p.type}" not found in ${this.config.binDirs.join(':')}`, {
          kind: 'not-found',
          errno: 'ENOENT',
          path: list.file,
          field: `plugins[${i}].type`,
        });
      }
      return bin;
    });
  }

  /** The stdin of plugin `i`: its own configuration plus name, version, runtimeConfig and prevResult. */
  private pluginConfig(list: ConfList, i: number, prevResult: Json | undefined, capabilityArgs: Json): Json {
    const conf: Json = { ...list.plugins[i], cniVersion: list.cniVersion, name: list.name };
    const caps = list.plugins[i].capabilities ?? {};
    const runtimeConfig: Json = { ...((conf.runtimeConfig as Json | undefined) ?? {}) };
    for (const [key, value] of Object.entries(capabilityArgs)) if (caps[key]) runtimeConfig[key] = value;
    if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
    if (prevResult) conf.prevResult = prevResult;
    return conf;
  }

  private run(op: string, command: CniCommand, binary: string, id: string, netns: string, config: Json): Promise<Json | undefined> {
    return execPlugin(op, { binary, command, containerId: id, netns, ifName: this.config.ifName, path: this.config.binDirs, config });
  }

  private pinPath(network: string, id: string): string {
    return path.join(this.config.cacheDir, 'netns', `${network}-${id}-${this.config.ifName}`);
  }

  private pin(op: string, netnsPath: string, pin: string): void {
    fs.mkdirSync(path.dirname(pin), { recursive: true, mode: 0o700 });
    fs.writeFileSync(pin, '', { mode: 0o400 });
    try {
      native().mount(netnsPath, pin, null, MS_BIND, null);
    } catch (e) {
      fs.rmSync(pin, { force: true });
      const err = e as NodeJS.ErrnoException;
      throw new HutchError(op, `pin network namespace ${netnsPath} at ${pin}: ${err.message}`, { step: 'mount', errno: err.code, path: pin });
    }
  }

  private unpin(pin: string): void {
    try {
      native().umount(pin, MNT_DETACH);
    } catch {
      // not mounted (any more)
    }
    fs.rmSync(pin, { force: true });
  }

  private static capabilityArgs(ports: PortMapping[]): Json {
    return ports.length ? { portMappings: ports.map((p) => ({ hostPort: p.host, containerPort: p.container, protocol: p.protocol })) } : {};
  }

  async setup(req: NetworkRequest): Promise<NetworkResult> {
    const op = 'create';
    if (!isValidContainerId(req.id)) throw new HutchError(op, `network: invalid container id "${req.id}"`, { kind: 'invalid-argument', field: 'container-id' });
    const ports = parsePorts(req.annotations[PORTS_ANNOTATION], op);
    const network = this.networkOf(op, req.annotations);
    const list = loadConfList(op, this.config.confDir, network);
    const binaries = this.binaries(op, list);
    if (ports.length && !list.plugins.some((p) => p.capabilities?.portMappings)) {
      throw new HutchError(op, `${PORTS_ANNOTATION}: CNI network "${network}" (${list.file}) has no plugin with the portMappings capability (such as portmap)`, {
        kind: 'invalid-argument',
        field: PORTS_ANNOTATION,
      });
    }
    for (const p of ports) await checkHostPortFree(op, p);
    const netns = netnsIdentity(req.netnsPath);
    if (!netns) throw new HutchError(op, `network namespace ${req.netnsPath} does not exist`, { errno: 'ENOENT', path: req.netnsPath });
    const cacheFile = cachePath(this.config.cacheDir, network, req.id, this.config.ifName);
    if (fs.existsSync(cacheFile)) {
      throw new HutchError(op, `container "${req.id}" is already attached to CNI network "${network}" (${cacheFile}); delete it first`, {
        kind: 'already-exists',
        errno: 'EEXIST',
        path: cacheFile,
      });
    }
    const pin = this.pinPath(network, req.id);
    this.pin(op, req.netnsPath, pin);

    const capabilityArgs = CniPlugin.capabilityArgs(ports);
    let prevResult: Json | undefined;
    try {
      for (let i = 0; i < list.plugins.length; i++) {
        prevResult = (await this.run(op, 'ADD', binaries[i], req.id, pin, this.pluginConfig(list, i, prevResult, capabilityArgs))) ?? prevResult;
      }
      if (!prevResult) throw new HutchError(op, `CNI network "${network}": ADD returned no result`, { step: 'cni ADD' });
      writeCache(cacheFile, {
        kind: 'cniCacheV1',
        containerId: req.id,
        config: list.bytes.toString('base64'),
        ifName: this.config.ifName,
        networkName: network,
        capabilityArgs,
        result: prevResult,
        netns,
      });
    } catch (e) {
      // undo the plugins that did run (all of them: DEL is idempotent by the spec)
      await this.delAll(op, list, binaries, req.id, pin, prevResult, capabilityArgs).catch(() => undefined);
      removeCache(cacheFile);
      this.unpin(pin);
      throw e;
    }
    const data: CniResultData = { network, ifName: this.config.ifName, cacheDir: this.config.cacheDir, netnsPin: pin };
    return {
      plugin: `cni:${network}`,
      ...toNetworkResult(prevResult),
      ports: ports.map((p) => ({ ...p, hostIP: '0.0.0.0' })),
      data: { ...data },
    };
  }

  /** DEL over the list in reverse; every plugin runs, the first failure is thrown after. */
  private async delAll(
    op: string,
    list: ConfList,
    binaries: string[],
    id: string,
    netns: string,
    prevResult: Json | undefined,
    capabilityArgs: Json,
  ): Promise<void> {
    const withPrev = versionAtLeast(list.cniVersion, '0.4.0') ? prevResult : undefined;
    let first: unknown;
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      try {
        await this.run(op, 'DEL', binaries[i], id, netns, this.pluginConfig(list, i, withPrev, capabilityArgs));
      } catch (e) {
        first ??= e;
      }
    }
    if (first) throw first;
  }

  async teardown(req: NetworkTeardownRequest): Promise<void> {
    const op = 'delete';
    const network = this.networkOf(op, req.annotations, req.result);
    const cacheFile = cachePath(this.config.cacheDir, network, req.id, this.config.ifName);
    const cached = readCache(cacheFile);
    // the list as it was at ADD, as libcni does; the current one when ADD never finished
    const list = cached ? parseConfList(op, `${cacheFile} (cached configuration)`, Buffer.from(cached.config, 'base64')) : loadConfList(op, this.config.confDir, network);
    const binaries = this.binaries(op, list);
    const pin = this.pinPath(network, req.id);
    let netns = '';
    if (isNamespaceFile(pin)) netns = pin;
    else if (req.netnsPath && cached?.netns && netnsIdentity(req.netnsPath) === cached.netns) netns = req.netnsPath;
    const ports = req.result?.ports?.map((p) => ({ host: p.host, container: p.container, protocol: p.protocol })) ?? [];
    const capabilityArgs = cached?.capabilityArgs ?? CniPlugin.capabilityArgs(ports);
    await this.delAll(op, list, binaries, req.id, netns, cached?.result, capabilityArgs);
    removeCache(cacheFile);
    this.unpin(pin);
  }

  async check(req: NetworkRequest & { result: NetworkResult }): Promise<void> {
    const op = 'check';
    const network = this.networkOf(op, req.annotations, req.result);
    const cacheFile = cachePath(this.config.cacheDir, network, req.id, this.config.ifName);
    const cached = readCache(cacheFile);
    if (!cached) throw new HutchError(op, `container "${req.id}" is not attached to CNI network "${network}"`, { kind: 'not-found', path: cacheFile });
    const list = parseConfList(op, `${cacheFile} (cached configuration)`, Buffer.from(cached.config, 'base64'));
    if (list.disableCheck) return;
    if (!versionAtLeast(list.cniVersion, '0.4.0')) {
      throw new HutchError(op, `CNI network "${network}": CHECK needs cniVersion 0.4.0 or later, the list has ${list.cniVersion}`, { kind: 'unimplemented' });
    }
    const binaries = this.binaries(op, list);
    const capabilityArgs = cached.capabilityArgs ?? {};
    for (let i = 0; i < list.plugins.length; i++) {
      await this.run(op, 'CHECK', binaries[i], req.id, this.pinPath(network, req.id), this.pluginConfig(list, i, cached.result, capabilityArgs));
    }
  }
}
