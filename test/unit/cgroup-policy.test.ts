/**
 * cgroup policy without a kernel: resource validation (every error names its field),
 * runc's conversions, the device rule fold (kernel v1 semantics) and its v1/eBPF
 * forms, the update merge, and the output shapes of ps and events.
 */
import assert = require('node:assert/strict');
import { describe, it } from 'node:test';
import { blkioWeightToIoWeight, formatCpuList, pageSizeBytes, pageSizeName, parseCpuList, sharesToWeight, swapMaxV2 } from '../../plugins/cgroup/convert';
import { allows, bpfRules, effectiveRules, emulate, parseDevicesList, v1Transition } from '../../plugins/cgroup/devices';
import { UINT64_MAX, type MetricsV2 } from '../../plugins/cgroup/metrics';
import { validateResources } from '../../plugins/cgroup/validate';
import { parseRamInBytes } from '../../runtime/cli/commands/update';
import { eventJson, parseDuration, runcStats } from '../../runtime/lifecycle/events';
import { filterPsOutput } from '../../runtime/lifecycle/ps';
import { mergeResources } from '../../runtime/lifecycle/update';

function refused(resources: unknown, pattern: RegExp): void {
  assert.throws(() => validateResources('create', resources), { message: pattern });
}

describe('resource validation', () => {
  it('accepts what Docker sends', () => {
    assert.doesNotThrow(() =>
      validateResources('create', {
        devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }],
        memory: { limit: 536870912, reservation: 268435456, swap: 1073741824, swappiness: -1, disableOOMKiller: false },
        cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1', mems: '0' },
        pids: { limit: -1 },
        blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
        hugepageLimits: [{ pageSize: '2MB', limit: 0 }],
        unified: { 'memory.high': '400000000' },
      }),
    );
  });

  it('names the field of each bad value', () => {
    refused({ memory: { limit: -5 } }, /^create: linux\.resources\.memory\.limit: -5 is not a valid limit/);
    refused({ memory: { limit: 100 << 20, swap: 50 << 20 } }, /linux\.resources\.memory\.swap: 52428800 is below the memory limit 104857600/);
    refused({ memory: { swap: 50 << 20 } }, /linux\.resources\.memory\.swap: cannot limit memory\+swap to 52428800 without a memory limit \(linux\.resources\.memory\.limit\)/);
    refused({ memory: { swappiness: 101 } }, /memory\.swappiness: 101 is out of range/);
    refused({ memory: { limit: '1g' } }, /memory\.limit: must be an integer, not "1g"/);
    refused({ cpu: { shares: 1 } }, /cpu\.shares: 1 is out of range \(2–262144\)/);
    refused({ cpu: { quota: 10 } }, /cpu\.quota: 10 is not valid/);
    refused({ cpu: { period: 100 } }, /cpu\.period: 100 is out of range/);
    refused({ cpu: { cpus: '0-x' } }, /cpu\.cpus: "0-x" is not a CPU or node list/);
    refused({ cpu: { mems: '3-1' } }, /cpu\.mems: "3-1" is not a CPU or node list/);
    refused({ pids: { limit: -2 } }, /pids\.limit: -2 is not a valid limit/);
    refused({ blockIO: { weight: 5 } }, /blockIO\.weight: 5 is out of range \(10–1000\)/);
    refused({ blockIO: { throttleReadBpsDevice: [{ major: 8, rate: 1 }] } }, /blockIO\.throttleReadBpsDevice\[0\]\.minor: missing/);
    refused({ blockIO: { throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: -1 }] } }, /throttleWriteIOPSDevice\[0\]\.rate: -1 is negative/);
    refused({ devices: [{ allow: true, type: 'x', access: 'rwm' }] }, /^create: linux\.resources\.devices\[0\]\.type: "x" is not a device type/);
    refused({ devices: [{ allow: true, access: 'rwx' }] }, /devices\[0\]\.access: "rwx" is not an access mode/);
    refused({ devices: [{ type: 'c', access: 'r' }] }, /devices\[0\]\.allow: missing/);
    refused({ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, /hugepageLimits\[0\]\.pageSize: "2M" is not a page size/);
    refused({ unified: { 'memory/../x': '1' } }, /unified\.memory\/\.\.\/x: .* is not a cgroup v2 file name/);
    refused({ unified: { 'cgroup.procs': '1' } }, /unified\.cgroup\.procs: "cgroup\.procs" cannot be set as a resource/);
    refused({ unified: { 'memory.high': 5 } }, /unified\.memory\.high: the value must be a string/);
    refused({ network: { classID: 2 ** 33 } }, /network\.classID: .* does not fit in 32 bits/);
  });

  it('names CLI flags when told to, and leaves swap ≥ memory to the merge for an update', () => {
    const flags = (p: string) => ({ 'memory.limit': '--memory' })[p] ?? p;
    assert.throws(() => validateResources('update', { memory: { limit: -3 } }, flags), { message: /^update: --memory: -3 is not a valid limit/ });
    assert.doesNotThrow(() => validateResources('update', { memory: { swap: 1 << 20 } }, flags, true));
  });
});

describe("runc's conversions", () => {
  it('cpu.weight from shares', () => {
    assert.equal(sharesToWeight(0), 0);
    assert.equal(sharesToWeight(2), 1);
    assert.equal(sharesToWeight(1024), 39);
    assert.equal(sharesToWeight(262144), 10000);
  });

  it('io.weight from a blkio weight', () => {
    assert.equal(blkioWeightToIoWeight(10), 1);
    assert.equal(blkioWeightToIoWeight(500), 4950);
    assert.equal(blkioWeightToIoWeight(1000), 10000);
  });

  it('memory.swap.max from memory+swap', () => {
    assert.equal(swapMaxV2(300, 100), 200);
    assert.equal(swapMaxV2(100, 100), 0);
    assert.equal(swapMaxV2(0, -1), -1, 'unlimited memory, swap unset: unlimited swap');
    assert.equal(swapMaxV2(-1, 100), -1);
    assert.equal(swapMaxV2(0, 100), 0);
    assert.throws(() => swapMaxV2(300, 0), /without a memory limit/);
    assert.throws(() => swapMaxV2(50, 100), /below the memory limit/);
  });

  it('CPU lists and page sizes', () => {
    assert.deepEqual(parseCpuList('0-3,6, 8-9'), [0, 1, 2, 3, 6, 8, 9]);
    assert.equal(formatCpuList([9, 0, 1, 2, 6, 3]), '0-3,6,9');
    assert.equal(pageSizeName(2048), '2MB');
    assert.equal(pageSizeName(1048576), '1GB');
    assert.equal(pageSizeName(64), '64KB');
    assert.equal(pageSizeBytes('2MB'), 2 * 1024 * 1024);
  });
});

describe('device rules', () => {
  const null_ = ['c', 1, 3] as const;

  it("start from deny-all with runc's defaults after the spec's last wildcard", () => {
    const rules = effectiveRules([{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 4, minor: 1, access: 'rw' }], [{ type: 'c', path: '/dev/fuse', major: 10, minor: 229 }]);
    assert.deepEqual(rules[0], { allow: false, access: 'rwm' });
    assert.deepEqual(rules[rules.length - 1], { allow: true, type: 'c', major: 4, minor: 1, access: 'rw' });
    const state = emulate(rules);
    assert.equal(state.defaultAllow, false);
    assert.ok(allows(state, ...null_, 'rw'));
    assert.ok(allows(state, 'c', 10, 229, 'rwm'), 'linux.devices are allowed, as runc does');
    assert.ok(allows(state, 'b', 8, 0, 'm'), 'mknod of anything');
    assert.ok(!allows(state, 'b', 8, 0, 'r'));
    assert.ok(allows(state, 'c', 136, 7, 'rw'), 'ptys');
    assert.ok(allows(state, 'c', 4, 1, 'rw'), 'rw from the spec');
    assert.ok(allows(state, 'c', 4, 1, 'm'), 'm from the mknod default');
    assert.ok(!allows(state, 'c', 4, 2, 'r'));
  });

  it('no rules at all is deny-all plus the defaults', () => {
    const state = emulate(effectiveRules(undefined, undefined));
    assert.equal(state.defaultAllow, false);
    assert.ok(allows(state, 'c', 1, 5, 'r'));
    assert.ok(!allows(state, 'c', 4, 1, 'r'));
  });

  it('a later rule can deny a default device', () => {
    const state = emulate(effectiveRules([{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'rwm' }], undefined));
    assert.ok(!allows(state, ...null_, 'r'));
    assert.ok(allows(state, 'c', 1, 5, 'r'));
    const partly = emulate(effectiveRules([{ allow: false, access: 'rwm' }, { allow: false, type: 'c', major: 1, minor: 3, access: 'w' }], undefined));
    assert.ok(allows(partly, ...null_, 'r'));
    assert.ok(!allows(partly, ...null_, 'rw'));
  });

  it('allow-all with deny exceptions', () => {
    const state = emulate([{ allow: true, access: 'rwm' }, { allow: false, type: 'b', major: 8, minor: -1, access: 'w' }]);
    assert.equal(state.defaultAllow, true);
    assert.ok(allows(state, 'b', 8, 1, 'r'));
    assert.ok(!allows(state, 'b', 8, 1, 'rw'), 'a deny exception matches on any shared bit');
    assert.deepEqual(bpfRules(state), [{ type: 'b', major: 8, minor: -1, access: 'w', allow: false }]);
  });

  it('v1: only the differences between two allow-lists are written', () => {
    const before = parseDevicesList('c 1:3 rwm\nc 1:5 rwm\nc *:* m\n');
    const after = emulate([{ allow: true, type: 'c', major: 1, minor: 3, access: 'r' }, { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, { allow: true, type: 'c', major: -1, minor: -1, access: 'm' }]);
    assert.deepEqual(v1Transition(before, after), [
      { file: 'devices.deny', value: 'c 1:3 wm' },
      { file: 'devices.deny', value: 'c 1:5 rwm' },
      { file: 'devices.allow', value: 'c 1:9 rwm' },
    ]);
  });

  it('v1: from the inherited allow-all, the default is reset first', () => {
    const before = parseDevicesList('a *:* rwm\n');
    assert.equal(before.exceptionsUnknown, true);
    const writes = v1Transition(before, emulate([{ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }]));
    assert.deepEqual(writes, [
      { file: 'devices.deny', value: 'a' },
      { file: 'devices.allow', value: 'c 1:3 rwm' },
    ]);
  });
});

describe('update merge', () => {
  it('keeps what is not named, applies whole sections', () => {
    const { merged, apply } = mergeResources({ memory: { limit: 100, swap: 200 }, cpu: { quota: 50000, period: 100000 }, pids: { limit: 10 } }, { cpu: { quota: 20000 } });
    assert.deepEqual(apply, { cpu: { quota: 20000, period: 100000 } });
    assert.deepEqual(merged.memory, { limit: 100, swap: 200 });
    assert.deepEqual(merged.pids, { limit: 10 });
  });

  it('unlimited memory takes swap with it unless swap is named', () => {
    assert.equal(mergeResources({ memory: { limit: 100, swap: 200 } }, { memory: { limit: -1 } }).apply.memory?.swap, 0);
    assert.equal(mergeResources({ memory: { limit: 100, swap: 200 } }, { memory: { limit: -1, swap: -1 } }).apply.memory?.swap, -1);
  });

  it('merges keyed lists by key', () => {
    const { merged, apply } = mergeResources({ hugepageLimits: [{ pageSize: '2MB', limit: 1 }, { pageSize: '1GB', limit: 2 }], unified: { 'memory.high': '5' } }, { hugepageLimits: [{ pageSize: '2MB', limit: 3 }], unified: { 'pids.max': '9' } });
    assert.deepEqual(merged.hugepageLimits, [{ pageSize: '2MB', limit: 3 }, { pageSize: '1GB', limit: 2 }]);
    assert.deepEqual(apply.hugepageLimits, [{ pageSize: '2MB', limit: 3 }]);
    assert.deepEqual(merged.unified, { 'memory.high': '5', 'pids.max': '9' });
  });
});

describe('CLI shapes', () => {
  it('sizes the way runc (docker/go-units) reads them', () => {
    assert.equal(parseRamInBytes('update', 'memory', '512m'), 512 * 1024 * 1024);
    assert.equal(parseRamInBytes('update', 'memory', '1g'), 1024 ** 3);
    assert.equal(parseRamInBytes('update', 'memory', '100KiB'), 102400);
    assert.equal(parseRamInBytes('update', 'memory', '4096'), 4096);
    assert.equal(parseRamInBytes('update', 'memory-swap', '-1'), -1);
    assert.throws(() => parseRamInBytes('update', 'memory', 'lots'), { message: /^update: --memory: invalid size "lots"/ });
  });

  it("durations the way Go's time.ParseDuration reads them", () => {
    assert.equal(parseDuration('events', '5s'), 5000);
    assert.equal(parseDuration('events', '1m30s'), 90_000);
    assert.equal(parseDuration('events', '250ms'), 250);
    assert.throws(() => parseDuration('events', '5'), { message: /--interval: invalid duration "5"/ });
  });

  it("ps keeps the header and the container's lines", () => {
    const out = 'UID PID PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 init\nroot 42 1 0 10:00 ? 00:00:00 sleep 1000\nroot 43 42 0 10:00 ? 00:00:00 sh\n';
    assert.equal(filterPsOutput(out, [42, 43]), 'UID PID PPID C STIME TTY TIME CMD\nroot 42 1 0 10:00 ? 00:00:00 sleep 1000\nroot 43 42 0 10:00 ? 00:00:00 sh');
    assert.throws(() => filterPsOutput('USER COMMAND\nroot init\n', [1]), { message: /couldn't find PID field/ });
  });

  it("stats events in runc's shape, uint64 printed exactly", () => {
    const metrics: MetricsV2 = {
      pids: { current: 3, limit: UINT64_MAX },
      cpu: { usageUsec: 1500, userUsec: 1000, systemUsec: 500, nrPeriods: 0, nrThrottled: 0, throttledUsec: 0 },
      memory: { ...Object.fromEntries(Object.keys({ anon: 0 }).map((k) => [k, 0])), file: 4096, usage: 8192, usageLimit: UINT64_MAX, swapUsage: 0, swapLimit: UINT64_MAX } as never,
      hugetlb: [],
      memoryEvents: { low: 0, high: 0, max: 0, oom: 1, oomKill: 1 },
    };
    const line = eventJson({ type: 'stats', id: 'web', data: runcStats({ version: 2, metrics }) });
    const parsed = JSON.parse(line) as { type: string; data: { cpu: { usage: { total: number; user: number } }; pids: { current: number; limit?: number }; memory: { usage: { usage: number } } } };
    assert.equal(parsed.type, 'stats');
    assert.equal(parsed.data.cpu.usage.total, 1_500_000);
    assert.equal(parsed.data.cpu.usage.user, 1_000_000);
    assert.deepEqual(parsed.data.pids, { current: 3 });
    assert.equal(parsed.data.memory.usage.usage, 8192);
    assert.match(line, /"usage":\{"limit":18446744073709551615,"usage":8192,"failcnt":0\}/);
    assert.equal(eventJson({ type: 'oom', id: 'web' }), '{"type":"oom","id":"web"}');
  });
});
