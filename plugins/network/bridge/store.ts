/**
 * The bridge plugin's state on disk, shared by every hutch process (guarded by
 * `<stateDir>/lock`, see lock.ts):
 *
 *   <stateDir>/lock
 *   <stateDir>/ports/<tcp|udp>-<port>                published host ports → owner
 *   <stateDir>/networks/<bridge>/network.json        subnet and gateway the bridge was made with
 *   <stateDir>/networks/<bridge>/ips/<address>       one file per allocated address → container id
 *   <stateDir>/networks/<bridge>/last                the last address handed out (round robin)
 *   <stateDir>/networks/<bridge>/containers/<id>.json everything teardown needs, written before
 *                                                    anything is made, so a crash can be undone
 *
 * Writes that others read are atomic (write a temporary file, rename).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAtomic } from '../atomic-file';
import type { RuleLines } from '../iptables';
import type { PortMapping } from '../ports';

export interface NetworkRecord {
  bridge: string;
  subnet: string;
  gateway: string;
  mtu: number;
}

export interface ContainerNetRecord {
  id: string;
  bridge: string;
  /** host end of the veth pair */
  hostVeth: string;
  ifName: string;
  /** allocated address, e.g. "10.87.0.5" */
  ip: string;
  prefix: number;
  gateway: string;
  ports: PortMapping[];
  /** the exact iptables rules added for the ports */
  rules: RuleLines;
  /** identity of the container's network namespace (st_dev:st_ino) */
  netns: string;
  /** the process doing the setup, for telling a crashed setup from a running one */
  owner: { pid: number; startTime: string };
  status: 'pending' | 'ready';
}

export interface PortOwner {
  bridge: string;
  id: string;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // already gone
  }
}

export class BridgeStore {
  constructor(readonly stateDir: string) {}

  get lockPath(): string {
    return path.join(this.stateDir, 'lock');
  }

  networkDir(bridge: string): string {
    return path.join(this.stateDir, 'networks', bridge);
  }

  networks(): string[] {
    try {
      return fs.readdirSync(path.join(this.stateDir, 'networks'));
    } catch {
      return [];
    }
  }

  readNetwork(bridge: string): NetworkRecord | undefined {
    return readJson<NetworkRecord>(path.join(this.networkDir(bridge), 'network.json'));
  }

  writeNetwork(n: NetworkRecord): void {
    const dir = this.networkDir(n.bridge);
    for (const d of ['ips', 'containers']) fs.mkdirSync(path.join(dir, d), { recursive: true, mode: 0o700 });
    writeAtomic(path.join(dir, 'network.json'), JSON.stringify(n));
  }

  removeNetwork(bridge: string): void {
    fs.rmSync(this.networkDir(bridge), { recursive: true, force: true });
  }

  // --- container records

  private recordPath(bridge: string, id: string): string {
    return path.join(this.networkDir(bridge), 'containers', `${id}.json`);
  }

  readRecord(bridge: string, id: string): ContainerNetRecord | undefined {
    return readJson<ContainerNetRecord>(this.recordPath(bridge, id));
  }

  writeRecord(r: ContainerNetRecord): void {
    writeAtomic(this.recordPath(r.bridge, r.id), JSON.stringify(r));
  }

  removeRecord(bridge: string, id: string): void {
    removeQuietly(this.recordPath(bridge, id));
  }

  records(bridge: string): ContainerNetRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(this.networkDir(bridge), 'containers'));
    } catch {
      return [];
    }
    return names
      .filter((n) => n.endsWith('.json'))
      .map((n) => readJson<ContainerNetRecord>(path.join(this.networkDir(bridge), 'containers', n)))
      .filter((r): r is ContainerNetRecord => r !== undefined);
  }

  // --- addresses

  /** Claims `ip` for `id`; false when it is taken. */
  claimIp(bridge: string, ip: string, id: string): boolean {
    try {
      fs.writeFileSync(path.join(this.networkDir(bridge), 'ips', ip), id, { flag: 'wx', mode: 0o600 });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
  }

  /** Frees `ip` when `id` still holds it (a reclaimed address may belong to someone else now). */
  releaseIp(bridge: string, ip: string, id: string): void {
    const file = path.join(this.networkDir(bridge), 'ips', ip);
    let holder: string;
    try {
      holder = fs.readFileSync(file, 'utf8');
    } catch {
      return;
    }
    if (holder === id) removeQuietly(file);
  }

  allocatedIps(bridge: string): string[] {
    try {
      return fs.readdirSync(path.join(this.networkDir(bridge), 'ips'));
    } catch {
      return [];
    }
  }

  readLast(bridge: string): string | undefined {
    try {
      return fs.readFileSync(path.join(this.networkDir(bridge), 'last'), 'utf8').trim();
    } catch {
      return undefined;
    }
  }

  writeLast(bridge: string, ip: string): void {
    writeAtomic(path.join(this.networkDir(bridge), 'last'), ip);
  }

  // --- published host ports (one registry for every network in this state dir)

  private portPath(p: PortMapping): string {
    return path.join(this.stateDir, 'ports', `${p.protocol}-${p.host}`);
  }

  portOwner(p: PortMapping): PortOwner | undefined {
    return readJson<PortOwner>(this.portPath(p));
  }

  claimPort(p: PortMapping, owner: PortOwner): void {
    fs.mkdirSync(path.join(this.stateDir, 'ports'), { recursive: true, mode: 0o700 });
    writeAtomic(this.portPath(p), JSON.stringify(owner));
  }

  releasePort(p: PortMapping, id: string): void {
    const owner = this.portOwner(p);
    if (owner?.id === id) removeQuietly(this.portPath(p));
  }
}
