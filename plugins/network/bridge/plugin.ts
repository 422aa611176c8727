/**
 * The bridge built-in: a Linux bridge made on first use, a veth pair per container
 * (inner end named eth0 inside the container's namespace), an address from a pool
 * that every hutch process shares, loopback up, a default route via the bridge,
 * masquerading for egress, and published ports (DNAT from outside, from the host's
 * own 127.0.0.1, and from containers back to themselves).
 *
 * Order matters for crash safety: the address, the host ports and a "pending"
 * record (with the setup process's identity) are written under the state lock
 * before any link or rule exists, so whatever a killed setup leaves is described on
 * disk, and `teardown({ id })` or `reclaim()` can undo it.
 *
 * Example:
 *   const bridge = new BridgePlugin({ name: 'hutch0', subnet: '10.87.0.0/16' });
 *   const result = await bridge.setup({ id: 'web', netnsPath: '/proc/4242/ns/net', pid: 4242,
 *                                       annotations: { 'io.hutch.ports': '8080:80' } });
 *   result.ips[0].address // "10.87.0.2/16"
 *   await bridge.teardown({ id: 'web', result });
 */
import * as fs from 'node:fs';
import { HutchError } from '../../../runtime/errors';
import { isSameLiveProcess, procStat } from '../../../runtime/state/proc';
import type { PluginContext } from '../../plugin';
import { broadcastOf, contains, formatIpv4, formatSubnet, overlaps, parseIpv4, parseSubnet, type Ipv4Subnet } from '../cidr';
import { resolveBridgeConfig, type BridgeConfig, type ResolvedBridgeConfig } from '../config';
import { describeRoute, hostRoutes, isValidContainerId, isValidIfName, netnsIdentity } from '../host';
import { deleteRules, deleteTagged, restoreRules } from '../iptables';
import { withFileLock } from '../lock';
import type { NetworkPlugin, NetworkRequest, NetworkResult, NetworkTeardownRequest } from '../plugin';
import { checkHostPortFree, formatPorts, parsePorts, PORTS_ANNOTATION, type PortMapping } from '../ports';
import { NetlinkSocket } from '../netlink/socket';
import { allocateIp, poolSize, type Pool } from './ipam';
import { configureInside, createBridge, createVeth, deleteLink, hostVethName, macForIp, type VethPlan } from './links';
import { chains, containerTag, networkRules, networkTag, portRules } from './rules';
import { BridgeStore, type ContainerNetRecord } from './store';

export type BridgeSetupStep = 'reserved' | 'veth' | 'configured' | 'ports';

/** The second constructor argument: what the plugin registry passes, plus a test hook. */
export interface BridgePluginOptions extends Partial<PluginContext> {
  /** Called after each setup step (tests stop a setup midway with it). */
  onStep?: (step: BridgeSetupStep, id: string) => void | Promise<void>;
}

/** What `NetworkResult.data` holds for this plugin. */
export interface BridgeResultData {
  bridge: string;
  stateDir: string;
  hostVeth: string;
  /** st_dev:st_ino of the namespace set up */
  netns: string;
}

interface Network extends Pool {
  mtu: number;
  ifName: string;
}

/** The setting names errors use; the configuration loader puts the section under `network.bridge`. */
const SETTING = 'network.bridge';

function sysLinkExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}`);
}

export class BridgePlugin implements NetworkPlugin {
  readonly name = 'bridge';
  readonly config: ResolvedBridgeConfig;
  private readonly store: BridgeStore;

  constructor(
    settings: BridgeConfig = {},
    private readonly options: BridgePluginOptions = {},
  ) {
    this.config = resolveBridgeConfig(settings);
    this.store = new BridgeStore(this.config.stateDir);
  }

  /** Checks the configuration; every error names the setting. */
  private network(op: string): Network {
    const c = this.config;
    const bad = (field: string, problem: string): HutchError =>
      new HutchError(op, `${SETTING}.${field}: ${problem}`, { kind: 'invalid-argument', field: `${SETTING}.${field}` });
    if (!isValidIfName(c.name)) throw bad('name', `"${c.name}" is not a valid interface name (1 to 15 characters, no "/", ":" or spaces)`);
    if (!isValidIfName(c.ifName)) throw bad('ifName', `"${c.ifName}" is not a valid interface name`);
    if (!Number.isInteger(c.mtu) || c.mtu < 68 || c.mtu > 65535) throw bad('mtu', `${c.mtu} is not an MTU from 68 to 65535`);
    const subnet = parseSubnet(op, `${SETTING}.subnet`, c.subnet);
    if (subnet.prefix > 30) throw bad('subnet', `"${c.subnet}" is too small: a /30 is the smallest with room for a gateway and one container`);
    let gateway = subnet.network + 1;
    if (c.gateway !== undefined) {
      const g = parseIpv4(c.gateway);
      if (g === undefined) throw bad('gateway', `"${c.gateway}" is not an IPv4 address`);
      if (!contains(subnet, g) || g === subnet.network || g === broadcastOf(subnet)) {
        throw bad('gateway', `${c.gateway} is not a host address of ${c.subnet}`);
      }
      gateway = g;
    }
    return { bridge: c.name, subnet, gateway, mtu: c.mtu, ifName: c.ifName };
  }

  async setup(req: NetworkRequest): Promise<NetworkResult> {
    const op = 'create';
    if (!isValidContainerId(req.id)) {
      throw new HutchError(op, `network: invalid container id "${req.id}"`, { kind: 'invalid-argument', field: 'container-id' });
    }
    const ports = parsePorts(req.annotations[PORTS_ANNOTATION], op);
    const net = this.network(op);
    const netns = netnsIdentity(req.netnsPath);
    if (!netns) throw new HutchError(op, `network namespace ${req.netnsPath} does not exist`, { errno: 'ENOENT', path: req.netnsPath });
    const startTime = procStat(process.pid)?.startTime;
    if (!startTime) throw new HutchError(op, 'cannot read our own /proc/self/stat', { errno: 'ENOENT' });

    const record = await withFileLock(this.store.lockPath, () =>
      this.reserve(op, net, { id: req.id, ports, netns, owner: { pid: process.pid, startTime } }),
    );
    try {
      await this.options.onStep?.('reserved', req.id);
      const plan: VethPlan = {
        bridge: net.bridge,
        hostVeth: record.hostVeth,
        ifName: net.ifName,
        netnsPath: req.netnsPath,
        ip: record.ip,
        prefix: net.subnet.prefix,
        gateway: record.gateway,
        broadcast: formatIpv4(broadcastOf(net.subnet)),
        mtu: net.mtu,
      };
      // the links and the rules do not depend on each other: make them side by side
      const links = (async (): Promise<string | undefined> => {
        const mac = await createVeth(op, plan);
        await this.options.onStep?.('veth', req.id);
        await configureInside(op, plan);
        await this.options.onStep?.('configured', req.id);
        return mac;
      })();
      const rules = ports.length ? restoreRules(op, `${PORTS_ANNOTATION}: publish ${formatPorts(ports)}`, record.rules) : Promise.resolve();
      // both settle before any undo, so no rule lands after its removal
      const [linked, ruled] = await Promise.allSettled([links, rules]);
      if (linked.status === 'rejected') throw linked.reason;
      if (ruled.status === 'rejected') throw ruled.reason;
      const hostMac = linked.value;
      if (ports.length) await this.options.onStep?.('ports', req.id);
      record.status = 'ready';
      this.store.writeRecord(record);
      return this.result(record, req.netnsPath, hostMac);
    } catch (e) {
      await this.dismantle(op, record).catch(() => undefined);
      await withFileLock(this.store.lockPath, () => this.forget(record)).catch(() => undefined);
      throw e;
    }
  }

  private result(r: ContainerNetRecord, netnsPath: string, hostMac: string | undefined): NetworkResult {
    const data: BridgeResultData = { bridge: r.bridge, stateDir: this.config.stateDir, hostVeth: r.hostVeth, netns: r.netns };
    return {
      plugin: this.name,
      interfaces: [
        { name: r.hostVeth, ...(hostMac ? { mac: hostMac } : {}) },
        { name: r.ifName, mac: macForIp(r.ip), sandbox: netnsPath },
      ],
      ips: [{ address: `${r.ip}/${r.prefix}`, gateway: r.gateway, interface: 1 }],
      routes: [{ dst: '0.0.0.0/0', gw: r.gateway }],
      ports: r.ports.map((p) => ({ ...p, hostIP: '0.0.0.0' })),
      data: { ...data },
    };
  }

  /** Under the lock: the network, the host ports, an address and the pending record. */
  private async reserve(
    op: string,
    net: Network,
    c: { id: string; ports: PortMapping[]; netns: string; owner: { pid: number; startTime: string } },
  ): Promise<ContainerNetRecord> {
    const existing = this.store.readRecord(net.bridge, c.id);
    if (existing) {
      if (!this.isStale(existing)) {
        throw new HutchError(op, `container "${c.id}" is already on bridge ${net.bridge}`, { kind: 'already-exists', errno: 'EEXIST' });
      }
      await this.dismantle(op, existing);
      this.forget(existing);
    }
    await this.ensureNetwork(op, net);

    // the address first: running out may reclaim, which must not see half a reservation
    let ip = allocateIp(this.store, net, c.id);
    if (!ip && (await this.reclaimLocked(op)).length > 0) ip = allocateIp(this.store, net, c.id);
    if (!ip) {
      throw new HutchError(
        op,
        `${SETTING}.subnet: no free address in ${formatSubnet(net.subnet)} on bridge ${net.bridge} (all ${poolSize(net)} are allocated)`,
        { kind: 'unavailable', field: `${SETTING}.subnet` },
      );
    }
    const claimed: PortMapping[] = [];
    try {
      for (const p of c.ports) {
        const owner = this.store.portOwner(p);
        if (owner && owner.id !== c.id) {
          const ownerRecord = this.store.readRecord(owner.bridge, owner.id);
          if (ownerRecord && !this.isStale(ownerRecord)) {
            throw new HutchError(op, `${PORTS_ANNOTATION}: host port ${p.host}/${p.protocol} is already published by container "${owner.id}"`, {
              kind: 'already-exists',
              errno: 'EADDRINUSE',
              field: PORTS_ANNOTATION,
            });
          }
        }
        await checkHostPortFree(op, p);
        this.store.claimPort(p, { bridge: net.bridge, id: c.id });
        claimed.push(p);
      }
      const record: ContainerNetRecord = {
        id: c.id,
        bridge: net.bridge,
        hostVeth: hostVethName(net.bridge, c.id),
        ifName: net.ifName,
        ip,
        prefix: net.subnet.prefix,
        gateway: formatIpv4(net.gateway),
        ports: c.ports,
        // recorded before they exist: a crash in between leaves rules that the record names
        rules: c.ports.length ? portRules(net.bridge, c.id, ip, c.ports) : {},
        netns: c.netns,
        owner: c.owner,
        status: 'pending',
      };
      this.store.writeRecord(record);
      return record;
    } catch (e) {
      for (const p of claimed) this.store.releasePort(p, c.id);
      this.store.releaseIp(net.bridge, ip, c.id);
      throw e;
    }
  }

  /** Under the lock: the bridge and its rules exist and match the configuration. */
  private async ensureNetwork(op: string, net: Network): Promise<void> {
    const subnetText = formatSubnet(net.subnet);
    const gatewayText = formatIpv4(net.gateway);
    const known = this.store.readNetwork(net.bridge);
    if (known) {
      if (known.subnet !== subnetText || known.gateway !== gatewayText) {
        throw new HutchError(
          op,
          `${SETTING}.subnet: bridge ${net.bridge} was made with subnet ${known.subnet} (gateway ${known.gateway}), not ${subnetText} (gateway ${gatewayText}); delete its containers and the network first`,
          { kind: 'invalid-argument', field: `${SETTING}.subnet` },
        );
      }
      if (sysLinkExists(net.bridge)) return;
      // the bridge was deleted behind our back: make it (and its rules) again
    } else {
      if (sysLinkExists(net.bridge)) {
        throw new HutchError(op, `${SETTING}.name: a link called "${net.bridge}" already exists and was not made by hutch`, {
          kind: 'already-exists',
          errno: 'EEXIST',
          field: `${SETTING}.name`,
        });
      }
      this.checkOverlaps(op, net.bridge, net.subnet);
    }
    await createBridge(op, net.bridge, net.subnet, net.gateway, net.mtu);
    try {
      await deleteTagged(op, (tag) => tag === networkTag(net.bridge), this.networkChains(net.bridge));
      await restoreRules(op, `set up iptables for bridge ${net.bridge}`, networkRules(net.bridge, subnetText));
      this.store.writeNetwork({ bridge: net.bridge, subnet: subnetText, gateway: gatewayText, mtu: net.mtu });
    } catch (e) {
      await deleteLink(op, net.bridge).catch(() => undefined);
      await deleteTagged(op, (tag) => tag === networkTag(net.bridge), this.networkChains(net.bridge)).catch(() => undefined);
      throw e;
    }
  }

  private networkChains(bridge: string): { nat: string[]; filter: string[] } {
    const c = chains(bridge);
    return { nat: [c.dnat, c.post], filter: [c.fwd] };
  }

  /** A new subnet must not overlap another hutch network or a route of the host. */
  private checkOverlaps(op: string, bridge: string, subnet: Ipv4Subnet): void {
    const clash = (what: string): HutchError =>
      new HutchError(op, `${SETTING}.subnet: ${formatSubnet(subnet)} overlaps ${what}`, { kind: 'invalid-argument', field: `${SETTING}.subnet` });
    for (const other of this.store.networks()) {
      if (other === bridge) continue;
      const n = this.store.readNetwork(other);
      if (!n) continue;
      if (overlaps(subnet, parseSubnet(op, 'network.json', n.subnet))) throw clash(`${n.subnet} of hutch bridge ${other}`);
    }
    for (const r of hostRoutes()) {
      if (r.iface !== bridge && overlaps(subnet, r.subnet)) throw clash(`the host's route ${describeRoute(r)}`);
    }
  }

  /** A record nobody will finish or undo: its setup died, or its namespace (and so its veth) is gone. */
  private isStale(r: ContainerNetRecord): boolean {
    if (r.status === 'pending') return !isSameLiveProcess(r.owner.pid, r.owner.startTime);
    return !sysLinkExists(r.hostVeth);
  }

  /** Removes a container's rules and veth; both may be gone already. No lock needed. */
  private async dismantle(op: string, r: { id: string; bridge: string; hostVeth: string; rules?: ContainerNetRecord['rules'] }): Promise<void> {
    const tag = containerTag(r.bridge, r.id);
    const rules =
      r.rules === undefined
        ? deleteTagged(op, (c) => c === tag)
        : (r.rules.nat?.length ?? 0) + (r.rules.filter?.length ?? 0) > 0
          ? deleteRules(op, r.rules, (c) => c === tag)
          : Promise.resolve();
    const link = deleteLink(op, r.hostVeth);
    const [a, b] = await Promise.allSettled([rules, link]);
    if (a.status === 'rejected') throw a.reason;
    if (b.status === 'rejected') throw b.reason;
  }

  /** Under the lock: frees the address, the host ports and the record. */
  private forget(r: { id: string; bridge: string; ip?: string; ports?: PortMapping[] }, store = this.store): void {
    if (r.ip) store.releaseIp(r.bridge, r.ip, r.id);
    for (const p of r.ports ?? []) store.releasePort(p, r.id);
    store.removeRecord(r.bridge, r.id);
  }

  async teardown(req: NetworkTeardownRequest): Promise<void> {
    const op = 'delete';
    const data = req.result?.data as Partial<BridgeResultData> | undefined;
    const bridge = data?.bridge ?? this.config.name;
    const store = data?.stateDir ? new BridgeStore(data.stateDir) : this.store;
    const record = store.readRecord(bridge, req.id);
    if (record) {
      await this.dismantle(op, record);
      await withFileLock(store.lockPath, () => this.forget(record, store));
      return;
    }
    // No record: the setup never got as far as reserving, or someone removed it;
    // undo by name and tag, and free whatever still carries the id.
    const target = { id: req.id, bridge, hostVeth: data?.hostVeth ?? hostVethName(bridge, req.id) };
    await this.dismantle(op, target);
    await withFileLock(store.lockPath, () => {
      for (const ip of store.allocatedIps(bridge)) store.releaseIp(bridge, ip, req.id);
      for (const p of req.result?.ports ?? []) store.releasePort(p, req.id);
      this.sweepOrphanPorts(store);
    });
  }

  async check(req: NetworkRequest & { result: NetworkResult }): Promise<void> {
    const op = 'check';
    const data = req.result.data as Partial<BridgeResultData> | undefined;
    const bridge = data?.bridge ?? this.config.name;
    const store = data?.stateDir ? new BridgeStore(data.stateDir) : this.store;
    const record = store.readRecord(bridge, req.id);
    if (!record || record.status !== 'ready') throw new HutchError(op, `container "${req.id}" has no network on bridge ${bridge}`, { kind: 'not-found' });
    if (netnsIdentity(req.netnsPath) !== record.netns) {
      throw new HutchError(op, `${req.netnsPath} is not the network namespace set up for "${req.id}"`, { kind: 'failed-precondition' });
    }
    if (!sysLinkExists(record.hostVeth)) throw new HutchError(op, `veth ${record.hostVeth} of "${req.id}" is gone`, { kind: 'not-found', errno: 'ENODEV' });
    const nl = NetlinkSocket.open(op, req.netnsPath);
    try {
      const link = await nl.link(record.ifName);
      if (!link?.up) throw new HutchError(op, `${record.ifName} of "${req.id}" is missing or down`, { kind: 'not-found', errno: 'ENODEV' });
    } finally {
      nl.close();
    }
  }

  /**
   * Undoes what crashed setups and vanished containers left: records whose setup
   * process died, records whose veth is gone (their namespace was destroyed), and
   * addresses and ports nobody's record claims. Returns the container ids freed.
   * Setup calls it by itself when the pool runs out.
   */
  reclaim(): Promise<string[]> {
    return withFileLock(this.store.lockPath, () => this.reclaimLocked('reclaim'));
  }

  private async reclaimLocked(op: string): Promise<string[]> {
    const freed: string[] = [];
    for (const bridge of this.store.networks()) {
      const records = this.store.records(bridge);
      for (const r of records) {
        if (!this.isStale(r)) continue;
        await this.dismantle(op, r);
        this.forget(r);
        freed.push(r.id);
      }
      const live = new Set(this.store.records(bridge).map((r) => r.id));
      for (const ip of this.store.allocatedIps(bridge)) {
        let holder = '';
        try {
          holder = fs.readFileSync(`${this.store.networkDir(bridge)}/ips/${ip}`, 'utf8');
        } catch {
          continue;
        }
        if (!live.has(holder)) {
          this.store.releaseIp(bridge, ip, holder);
          freed.push(holder);
        }
      }
    }
    this.sweepOrphanPorts(this.store);
    return [...new Set(freed)];
  }

  /** Port claims whose owner has no record (a setup killed between claim and record). */
  private sweepOrphanPorts(store: BridgeStore): void {
    let names: string[];
    try {
      names = fs.readdirSync(`${store.stateDir}/ports`);
    } catch {
      return;
    }
    for (const name of names) {
      const m = /^(tcp|udp)-(\d+)$/.exec(name);
      if (!m) continue;
      const p: PortMapping = { protocol: m[1] as 'tcp' | 'udp', host: Number(m[2]), container: 0 };
      const owner = store.portOwner(p);
      if (owner && !store.readRecord(owner.bridge, owner.id)) store.releasePort(p, owner.id);
    }
  }

  /**
   * Removes the whole network: the bridge, its chains and rules, and its state.
   * Refuses while containers are on it, unless `force` (then they are torn down).
   */
  async removeNetwork(options: { force?: boolean } = {}): Promise<void> {
    const op = 'network rm';
    const bridge = this.config.name;
    await withFileLock(this.store.lockPath, async () => {
      const records = this.store.records(bridge).filter((r) => !this.isStale(r));
      if (records.length && !options.force) {
        throw new HutchError(op, `bridge ${bridge} still has ${records.length} container(s): ${records.map((r) => r.id).join(', ')}`, {
          kind: 'failed-precondition',
        });
      }
      for (const r of this.store.records(bridge)) {
        await this.dismantle(op, r);
        this.forget(r);
      }
      await deleteLink(op, bridge);
      const prefix = `${networkTag(bridge)}:`;
      await deleteTagged(op, (tag) => tag === networkTag(bridge) || tag.startsWith(prefix), this.networkChains(bridge));
      this.store.removeNetwork(bridge);
    });
  }
}
