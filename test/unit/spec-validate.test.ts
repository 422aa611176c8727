/** Validation errors name the JSON path; the plan compiles the spec's numbers. */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { MountKind } from '../../addon/plan';
import { compilePlan } from '../../runtime/launch/plan';
import { MS, parseMountOptions } from '../../runtime/spec/mount-options';
import { seccompProgram } from '../../runtime/spec/seccomp';
import { checkOciVersion } from '../../runtime/spec/version';
import { validateSpec } from '../../runtime/spec/validate';
import type { Spec } from '../../runtime/spec/types';
import { defaultSpec } from '../fixtures/busybox';
import { tempDir } from '../fixtures/env';

const bundle = tempDir('unit-spec');
fs.mkdirSync(path.join(bundle, 'rootfs'), { recursive: true });

function spec(edit?: (s: any) => void): any {
  // `any`: these tests write invalid shapes on purpose
  const s = defaultSpec(['sh']);
  edit?.(s);
  return s;
}

function refused(edit: (s: any) => void, pattern: RegExp): void {
  assert.throws(() => validateSpec("create", spec(edit), bundle), { message: pattern });
}

describe('config.json validation', () => {
  it("accepts runc's default spec", () => {
    assert.doesNotThrow(() => validateSpec('create', spec(), bundle));
  });

  it('names the JSON path of each error', () => {
    refused((s) => (s.linux.namespaces[2].type = 'nett'), /^create: linux\.namespaces\[2\]\.type: unknown namespace "nett"$/);
    refused((s) => s.linux.namespaces.push({ type: 'pid' }), /linux\.namespaces\[5\]\.type: duplicate namespace "pid"/);
    refused((s) => (s.process.user.gid = -1), /process\.user\.gid: -1 is out of range/);
    refused((s) => (s.process.env = [1]), /process\.env\[0\]: expected a string, got number 1/);
    refused((s) => (s.mounts[1].destination = 'dev'), /mounts\[1\]\.destination: "dev" is not an absolute path/);
    refused((s) => (s.hooks = { prestart: [{ path: 'rel' }] }), /hooks\.prestart\[0\]\.path: "rel" is not an absolute path/);
    refused((s) => (s.hooks = { poststop: [{ path: '/x', timeout: 0 }] }), /hooks\.poststop\[0\]\.timeout: 0 is out of range/);
    refused((s) => (s.linux.devices = [{ path: '/dev/x', type: 'z' }]), /linux\.devices\[0\]\.type: unknown device type "z"/);
    refused((s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 1, size: 1 }]), /linux\.uidMappings: id mappings need a user namespace/);
    refused((s) => (s.linux.rootfsPropagation = 'sideways'), /linux\.rootfsPropagation: unknown propagation "sideways"/);
    refused((s) => (s.linux.timeOffsets = { monotonic: { secs: 1 } }), /linux\.timeOffsets: time offsets need a new time namespace/);
    refused((s) => (s.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 10, hard: 5 }]), /process\.rlimits\[0\]: soft limit 10 is above the hard limit 5/);
    refused((s) => (s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'uts')), /^create: hostname: setting a hostname needs a uts namespace/);
    refused((s) => (s.linux.namespaces = s.linux.namespaces.filter((n: any) => n.type !== 'mount')), /linux\.namespaces: a mount namespace is required/);
  });

  it('checks ociVersion', () => {
    for (const ok of ['1.0.0', '1.0.2-dev', '1.1.0-rc.1', '1.2.1', '1.9.0']) assert.doesNotThrow(() => checkOciVersion('create', ok));
    for (const bad of ['2.0.0', '1.0.0-rc5', '1', 'v1.0.0', 1]) assert.throws(() => checkOciVersion('create', bad), /ociVersion/);
  });
});

describe('mount options', () => {
  it('maps flags, clears, propagation, recursive attributes and data', () => {
    const o = parseMountOptions(['rbind', 'ro', 'rw', 'nosuid', 'rslave', 'rro', 'size=64k', 'mode=755']);
    assert.equal(o.flags, MS.BIND | MS.REC | MS.NOSUID);
    assert.equal(o.propagation, MS.SLAVE | MS.REC);
    assert.equal(o.attrSet, 1);
    assert.deepEqual(o.data, ['size=64k', 'mode=755']);
  });
});

describe('seccomp', () => {
  it('maps actions, operators, arches and flags; names bad fields', () => {
    const p = seccompProgram('create', {
      defaultAction: 'SCMP_ACT_ERRNO',
      architectures: ['SCMP_ARCH_X86_64'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 3, op: 'SCMP_CMP_MASKED_EQ', valueTwo: 1 }] }],
    });
    assert.equal(p.program.defaultErrno, 1, 'EPERM by default');
    assert.deepEqual(p.program.architectures, ['x86_64']);
    assert.equal(p.flags, 2);
    assert.equal(p.program.syscalls[0].args[0].valueTwo, 1n);
    assert.throws(() => seccompProgram('create', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_NOTIFY' }] }), /listenerPath/);
    assert.throws(
      () => seccompProgram('create', { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_XX' }] }] }),
      /linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown seccomp operator/,
    );
  });
});

describe('launch plan', () => {
  it('compiles namespaces, mounts, devices, capabilities and seccomp (against a fake addon)', () => {
    const s = validateSpec(
      'create',
      spec((x) => {
        x.linux.namespaces.push({ type: 'cgroup' });
        x.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_ERRNO' }] };
      }),
      bundle,
    ) as Spec;
    const compiled: unknown[] = [];
    const plan = compilePlan(
      s,
      {
        op: 'create',
        bundle,
        rootfs: path.join(bundle, 'rootfs'),
        noPivot: false,
        preserveFds: 0,
        rootless: false,
        cgroupSources: [
          { name: 'cpu', fstype: 'cgroup', data: 'cpu', hostDir: '/sys/fs/cgroup/cpu/hutch/x', links: [] },
          { name: 'cpu,cpuacct', fstype: 'cgroup', data: 'cpu,cpuacct', hostDir: '/sys/fs/cgroup/cpu,cpuacct/hutch/x', links: ['cpuacct'] },
        ],
      },
      { compileSeccomp: (p) => (compiled.push(p), Buffer.from('bpf')) },
    );
    assert.equal(plan.unshareFlags, 0x20000000 | 0x40000000 | 0x08000000 | 0x04000000 | 0x00020000 | 0x02000000);
    const cgroupTmpfs = plan.mounts.find((m) => m.target === '/sys/fs/cgroup')!;
    assert.equal(cgroupTmpfs.fstype, 'tmpfs');
    assert.equal(cgroupTmpfs.remountLate, true, 'ro tmpfs made read-only after its submounts');
    const cpu = plan.mounts.find((m) => m.target === '/sys/fs/cgroup/cpu')!;
    assert.equal(cpu.fstype, 'cgroup', 'with a cgroup namespace, v1 hierarchies are mounted, not bound');
    assert.ok(plan.mounts.some((m) => m.kind === MountKind.Symlink && m.target === '/sys/fs/cgroup/cpuacct' && m.source === 'cpu,cpuacct'));
    assert.ok(plan.devices.some((d) => d.path === '/dev/null' && d.major === 1 && d.minor === 3 && d.mode === 0o666));
    assert.equal(plan.caps.bounding, (1n << 5n) | (1n << 10n) | (1n << 29n));
    assert.equal(plan.lookupPath, '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    assert.equal(compiled.length, 1);
    assert.deepEqual(plan.seccomp?.bpf, Buffer.from('bpf'));
  });
});
