/**
 * The v1 and v2 file planners and the journaled writer, against directories of plain
 * files standing in for cgroup directories (which files exist is what the planners
 * look at; the kernel's side is covered by the integration and v2 tiers).
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { planV1 } from '../../plugins/cgroup/files-v1';
import { planV2 } from '../../plugins/cgroup/files-v2';
import { UINT64_MAX } from '../../plugins/cgroup/metrics';
import { readStatsV1, readStatsV2 } from '../../plugins/cgroup/stats';
import type { PlanContext } from '../../plugins/cgroup/plan-context';
import { specField } from '../../plugins/cgroup/validate';
import { applyWrites, type CgroupWrite } from '../../plugins/cgroup/writes';
import { tempDir } from '../fixtures/env';

function fakeDir(name: string, files: Record<string, string>): string {
  const dir = tempDir(name);
  for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), content);
  return dir;
}

function ctx(dirs: Record<string, string>, update = false): PlanContext {
  return { op: update ? 'update' : 'create', name: specField, update, dirs, allowedCpus: [0, 1], allowedMems: [0], hugePageSizes: ['2MB', '1GB'], missingReason: () => 'not mounted on this host' };
}

const short = (ws: CgroupWrite[]) => ws.map((w) => `${w.controller}:${w.file}=${w.value}`);

describe('v2 planner', () => {
  const dir = fakeDir('unit-cg-v2', {
    'cgroup.controllers': 'cpuset cpu io memory pids',
    'memory.max': 'max',
    'memory.swap.max': 'max',
    'memory.low': '0',
    'memory.current': '5000000',
    'cpu.weight': '100',
    'cpu.max': 'max 100000',
    'io.weight': 'default 100',
    'io.max': '',
    'pids.max': 'max',
    'cpuset.cpus': '',
    'memory.high': 'max',
  });

  it("writes runc's conversions", () => {
    const writes = planV2(
      {
        memory: { limit: 100 << 20, swap: 300 << 20, reservation: 50 << 20 },
        cpu: { shares: 1024, quota: 50000, period: 100000, cpus: '1' },
        pids: { limit: 64 },
        blockIO: { weight: 500, weightDevice: [{ major: 8, minor: 0, weight: 1000 }], throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }], throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 0 }] },
        unified: { 'memory.high': '90000000' },
      },
      ctx({ unified: dir }),
    );
    assert.deepEqual(short(writes), [
      'unified:cpu.weight=39',
      'unified:cpu.max=50000 100000',
      'unified:cpuset.cpus=1',
      `unified:memory.swap.max=${200 << 20}`,
      `unified:memory.max=${100 << 20}`,
      `unified:memory.low=${50 << 20}`,
      'unified:pids.max=64',
      'unified:io.weight=4950',
      'unified:io.weight=8:0 10000',
      'unified:io.max=8:0 rbps=1048576',
      'unified:io.max=8:0 wiops=max',
      'unified:memory.high=90000000',
    ]);
  });

  it('equal memory and memory+swap means no swap; -1 means max', () => {
    assert.deepEqual(short(planV2({ memory: { limit: 100, swap: 100 } }, ctx({ unified: dir }))), ['unified:memory.swap.max=0', 'unified:memory.max=100']);
    assert.deepEqual(short(planV2({ memory: { limit: -1 } }, ctx({ unified: dir }))), ['unified:memory.swap.max=max', 'unified:memory.max=max']);
    assert.deepEqual(short(planV2({ cpu: { quota: -1 } }, ctx({ unified: dir }))), ['unified:cpu.max=max']);
  });

  it('refuses what v2 does not have, naming the field', () => {
    const refuse = (r: object, re: RegExp) => assert.throws(() => planV2(r, ctx({ unified: dir })), { message: re });
    refuse({ memory: { kernel: 1 << 20 } }, /^create: linux\.resources\.memory\.kernel: not supported on cgroup v2/);
    refuse({ memory: { swappiness: 10 } }, /memory\.swappiness: not supported on cgroup v2/);
    refuse({ cpu: { realtimeRuntime: 1000 } }, /cpu\.realtimeRuntime: not supported on cgroup v2/);
    refuse({ network: { classID: 1 } }, /network\.classID: not supported on cgroup v2/);
    refuse({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, /hugepageLimits\[0\]: the hugetlb controller is not enabled for this cgroup \(available: cpuset cpu io memory pids\)/);
    refuse({ unified: { 'memory.bogus': '1' } }, /unified\.memory\.bogus: unknown cgroup v2 file "memory\.bogus"/);
    refuse({ unified: { 'rdma.max': 'x' } }, /unified\.rdma\.max: the rdma controller is not enabled/);
    refuse({ cpu: { cpus: '0-3' } }, /cpu\.cpus: CPU 2,3 are not available on this host \(available: 0-1\)/);
    refuse({ memory: { swap: 300 } }, /memory\.swap: unable to set a swap limit without a memory limit/);
  });

  it('refuses a memory limit below current usage on update only', () => {
    assert.throws(() => planV2({ memory: { limit: 1 << 20 } }, ctx({ unified: dir }, true)), { message: /^update: linux\.resources\.memory\.limit: 1048576 is below the container's current memory usage \(5000000 bytes\)/ });
    assert.doesNotThrow(() => planV2({ memory: { limit: 1 << 20 } }, ctx({ unified: dir })));
  });
});

describe('v1 planner', () => {
  const mem = fakeDir('unit-cg-v1-mem', {
    'memory.limit_in_bytes': '9223372036854771712',
    'memory.memsw.limit_in_bytes': '9223372036854771712',
    'memory.soft_limit_in_bytes': '9223372036854771712',
    'memory.usage_in_bytes': '4096',
    'memory.swappiness': '60',
    'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\n',
  });
  const cpu = fakeDir('unit-cg-v1-cpu', { 'cpu.shares': '1024', 'cpu.cfs_quota_us': '-1', 'cpu.cfs_period_us': '100000', 'cpu.rt_period_us': '1000000', 'cpu.rt_runtime_us': '0' });
  const blkio = fakeDir('unit-cg-v1-blkio', { 'blkio.throttle.read_bps_device': '', 'blkio.throttle.write_iops_device': '' });
  const pids = fakeDir('unit-cg-v1-pids', { 'pids.max': 'max' });

  it('orders memory and memory+swap so the kernel accepts each step', () => {
    const fromUnlimited = planV1({ memory: { limit: 100 << 20, swap: 200 << 20 } }, ctx({ memory: mem }));
    assert.deepEqual(short(fromUnlimited).slice(0, 2), [`memory:memory.limit_in_bytes=${100 << 20}`, `memory:memory.memsw.limit_in_bytes=${200 << 20}`]);
    fs.writeFileSync(path.join(mem, 'memory.limit_in_bytes'), String(50 << 20));
    const grow = planV1({ memory: { limit: 100 << 20, swap: 200 << 20 } }, ctx({ memory: mem }));
    assert.deepEqual(short(grow).slice(0, 2), [`memory:memory.memsw.limit_in_bytes=${200 << 20}`, `memory:memory.limit_in_bytes=${100 << 20}`]);
    fs.writeFileSync(path.join(mem, 'memory.limit_in_bytes'), String(500 << 20));
    const shrink = planV1({ memory: { limit: 100 << 20, swap: 200 << 20 } }, ctx({ memory: mem }));
    assert.deepEqual(short(shrink).slice(0, 2), [`memory:memory.limit_in_bytes=${100 << 20}`, `memory:memory.memsw.limit_in_bytes=${200 << 20}`]);
    assert.deepEqual(short(planV1({ memory: { limit: -1 } }, ctx({ memory: mem }))).slice(0, 2), ['memory:memory.memsw.limit_in_bytes=-1', 'memory:memory.limit_in_bytes=-1']);
  });

  it('writes every v1 file it knows', () => {
    const writes = planV1(
      {
        memory: { reservation: 1 << 20, swappiness: 10, disableOOMKiller: true },
        cpu: { shares: 512, quota: 20000, period: 50000, realtimePeriod: 900000 },
        pids: { limit: -1 },
        blockIO: { throttleReadBpsDevice: [{ major: 254, minor: 0, rate: 1000 }], throttleWriteIOPSDevice: [{ major: 254, minor: 0, rate: 10 }] },
      },
      ctx({ memory: mem, cpu, blkio, pids }),
    );
    assert.deepEqual(short(writes), [
      'cpu:cpu.shares=512',
      'cpu:cpu.cfs_period_us=50000',
      'cpu:cpu.cfs_quota_us=20000',
      'cpu:cpu.rt_period_us=900000',
      'memory:memory.soft_limit_in_bytes=1048576',
      'memory:memory.swappiness=10',
      'memory:memory.oom_control=1',
      'pids:pids.max=max',
      'blkio:blkio.throttle.read_bps_device=254:0 1000',
      'blkio:blkio.throttle.write_iops_device=254:0 10',
    ]);
  });

  it('names the missing controller or file and why', () => {
    const refuse = (r: object, re: RegExp) => assert.throws(() => planV1(r, ctx({ memory: mem, cpu, blkio })), { message: re });
    refuse({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }] }, /^create: linux\.resources\.hugepageLimits\[0\]: the hugetlb controller is not mounted on this host/);
    refuse({ network: { classID: 1 } }, /network\.classID: the net_cls controller is not mounted/);
    refuse({ blockIO: { weight: 100 } }, /blockIO\.weight: this host has no blkio weight file/);
    refuse({ cpu: { burst: 1000 } }, /cpu\.burst: this kernel has no cpu\.cfs_burst_us/);
    refuse({ unified: { 'memory.high': '1' } }, /unified\.memory\.high: the unified controller is not mounted/);
    refuse({ cpu: { cpus: '7' } }, /cpu\.cpus: the cpuset controller is not mounted/);
  });
});

describe('journaled writes', () => {
  it('puts back what it wrote when a later write fails', () => {
    const dir = fakeDir('unit-cg-journal', { 'a.max': '10', 'b.list': '8:0 100\n8:16 200\n' });
    fs.mkdirSync(path.join(dir, 'c.max'));
    const writes: CgroupWrite[] = [
      { controller: 'x', file: 'a.max', value: '20', field: 'linux.resources.a' },
      { controller: 'x', file: 'b.list', value: '8:16 300', field: 'linux.resources.b', keyed: { key: '8:16', absent: '8:16 0' } },
      { controller: 'x', file: 'c.max', value: '1', field: 'linux.resources.c' },
    ];
    assert.throws(() => applyWrites('update', { x: dir }, writes), { message: /^update: linux\.resources\.c: cannot write "1" to .*c\.max/ });
    assert.equal(fs.readFileSync(path.join(dir, 'a.max'), 'utf8'), '10');
    assert.equal(fs.readFileSync(path.join(dir, 'b.list'), 'utf8'), '8:16 200', 'a keyed file gets its old line back');
  });

  it('reports a write the kernel ignored', () => {
    const dir = fakeDir('unit-cg-verify', { 'k.limit': '9223372036854771712' });
    const w: CgroupWrite = { controller: 'x', file: 'k.limit', value: '5', field: 'f', verify: () => 'ignored' };
    assert.throws(() => applyWrites('create', { x: dir }, [w]), { message: /^create: f: ignored$/ });
  });
});

describe('stats readers', () => {
  it('v2: cpu.stat, memory.*, memory.events, io.stat, pids, hugetlb; "max" as 2^64−1', () => {
    const dir = fakeDir('unit-cg-stats2', {
      'cpu.stat': 'usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled 1\nthrottled_usec 20\n',
      'memory.stat': 'anon 4096\nfile 8192\ninactive_file 100\nthp_collapse_alloc 3\n',
      'memory.current': '12288',
      'memory.max': '104857600',
      'memory.swap.current': '0',
      'memory.swap.max': 'max',
      'memory.events': 'low 0\nhigh 1\nmax 2\noom 3\noom_kill 3\n',
      'io.stat': '8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n',
      'pids.current': '2',
      'pids.max': 'max',
      'hugetlb.2MB.current': '0',
      'hugetlb.2MB.max': '4194304',
    });
    const m = readStatsV2(dir, ['2MB', '1GB']);
    assert.deepEqual(m.pids, { current: 2, limit: UINT64_MAX });
    assert.deepEqual(m.cpu, { usageUsec: 1500, userUsec: 1000, systemUsec: 500, nrPeriods: 4, nrThrottled: 1, throttledUsec: 20 });
    assert.equal(m.memory?.anon, 4096);
    assert.equal(m.memory?.inactiveFile, 100);
    assert.equal(m.memory?.thpCollapseAlloc, 3);
    assert.equal(m.memory?.usage, 12288);
    assert.equal(m.memory?.usageLimit, 104857600);
    assert.equal(m.memory?.swapLimit, UINT64_MAX);
    assert.deepEqual(m.memoryEvents, { low: 0, high: 1, max: 2, oom: 3, oomKill: 3 });
    assert.deepEqual(m.io?.usage, [{ major: 8, minor: 0, rbytes: 10, wbytes: 20, rios: 1, wios: 2 }]);
    assert.deepEqual(m.hugetlb, [{ pagesize: '2MB', current: 0, max: 4194304 }]);
    assert.throws(() => readStatsV2(path.join(dir, 'gone'), []), { code: 'ENOENT' });
  });

  it('v1: cpuacct in ns, blkio with the throttle fallback, pids "max" as 0', () => {
    const acct = fakeDir('unit-cg-stats1-acct', { 'cpuacct.usage': '3000000000', 'cpuacct.stat': 'user 150\nsystem 50\n', 'cpuacct.usage_percpu': '1000000000 2000000000 \n' });
    const cpu = fakeDir('unit-cg-stats1-cpu', { 'cpu.stat': 'nr_periods 10\nnr_throttled 2\nthrottled_time 5000\n' });
    const pids = fakeDir('unit-cg-stats1-pids', { 'pids.current': '3', 'pids.max': 'max' });
    const blkio = fakeDir('unit-cg-stats1-blkio', {
      'blkio.throttle.io_service_bytes_recursive': '254:0 Read 4096\n254:0 Write 8192\n254:0 Total 12288\nTotal 12288\n',
      'blkio.throttle.io_serviced_recursive': '254:0 Read 1\n254:0 Write 2\nTotal 3\n',
    });
    const memory = fakeDir('unit-cg-stats1-mem', {
      'memory.stat': 'cache 4096\nrss 8192\npgpgin 7\ntotal_inactive_file 100\nhierarchical_memsw_limit 9223372036854771712\n',
      'memory.limit_in_bytes': '67108864',
      'memory.usage_in_bytes': '12288',
      'memory.max_usage_in_bytes': '16384',
      'memory.failcnt': '1',
      'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n',
    });
    const m = readStatsV1({ cpuacct: acct, cpu, pids, blkio, memory }, []);
    assert.deepEqual(m.cpu, { usage: { total: 3e9, kernel: 5e8, user: 1.5e9, perCpu: [1e9, 2e9] }, throttling: { periods: 10, throttledPeriods: 2, throttledTime: 5000 } });
    assert.deepEqual(m.pids, { current: 3, limit: 0 });
    assert.deepEqual(m.blkio?.ioServiceBytesRecursive.map((e) => [e.op, e.major, e.minor, e.value]), [
      ['Read', 254, 0, 4096],
      ['Write', 254, 0, 8192],
      ['Total', 254, 0, 12288],
    ]);
    assert.equal(m.blkio?.ioServicedRecursive.length, 2, "the last, device-less Total line is skipped");
    assert.equal(m.memory?.cache, 4096);
    assert.equal(m.memory?.pgPgIn, 7);
    assert.equal(m.memory?.hierarchicalSwapLimit, 9223372036854771712);
    assert.deepEqual(m.memory?.usage, { limit: 67108864, usage: 12288, max: 16384, failcnt: 1 });
    assert.deepEqual(m.memoryOomControl, { oomKillDisable: 0, underOom: 0, oomKill: 2 });
  });
});
