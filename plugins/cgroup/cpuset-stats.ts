/**
 * A v1 cpuset cgroup's state, for `hutch events` (runc's types.CPUSet, which runc fills
 * from v1 only: containerd's Metrics have no cpuset). Missing files read as 0 / empty,
 * as runc tolerates them.
 *
 *   readCpusetV1('/sys/fs/cgroup/cpuset/hutch/web')
 *   // { cpus: [0, 1], mems: [0], cpuExclusive: 0, …, schedLoadBalance: 1, schedRelaxDomainLevel: -1 }
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readList } from './plan-context';

export interface CpusetV1Stats {
  cpus: number[];
  mems: number[];
  cpuExclusive: number;
  memHardwall: number;
  memExclusive: number;
  memoryMigrate: number;
  memorySpreadPage: number;
  memorySpreadSlab: number;
  memoryPressure: number;
  schedLoadBalance: number;
  schedRelaxDomainLevel: number;
}

function readNumber(dir: string, file: string): number {
  try {
    const n = Number(fs.readFileSync(path.join(dir, file), 'utf8').trim());
    return Number.isFinite(n) ? n : 0;
  } catch {
    return 0;
  }
}

export function readCpusetV1(dir: string): CpusetV1Stats {
  return {
    cpus: readList(path.join(dir, 'cpuset.cpus')),
    mems: readList(path.join(dir, 'cpuset.mems')),
    cpuExclusive: readNumber(dir, 'cpuset.cpu_exclusive'),
    memHardwall: readNumber(dir, 'cpuset.mem_hardwall'),
    memExclusive: readNumber(dir, 'cpuset.mem_exclusive'),
    memoryMigrate: readNumber(dir, 'cpuset.memory_migrate'),
    memorySpreadPage: readNumber(dir, 'cpuset.memory_spread_page'),
    memorySpreadSlab: readNumber(dir, 'cpuset.memory_spread_slab'),
    memoryPressure: readNumber(dir, 'cpuset.memory_pressure'),
    schedLoadBalance: readNumber(dir, 'cpuset.sched_load_balance'),
    schedRelaxDomainLevel: readNumber(dir, 'cpuset.sched_relax_domain_level'),
  };
}
