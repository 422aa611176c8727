/** The TypeScript encoder and hutch-init's decoder must agree on every number. */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { DeviceTag, encodePlan, HookTag, KvTag, MountTag, Msg, NsTag, PLAN_MAGIC, PLAN_VERSION, RlimitTag, Tag } from '../../addon/plan-codec';
import { MountKind, type LaunchPlan } from '../../addon/plan';
import { REPO_ROOT } from '../fixtures/env';

const header = fs.readFileSync(path.join(REPO_ROOT, 'addon', 'init', 'plan_format.h'), 'utf8');

function defines(prefix: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of header.matchAll(new RegExp(`^#define ${prefix}(\\w+)\\s+(0x[0-9a-fA-F]+|\\d+)u?\\b`, 'gm'))) out.set(m[1], Number(m[2]));
  return out;
}

function assertSame(ts: Record<string, number>, prefix: string): void {
  const c = defines(prefix);
  for (const [name, value] of Object.entries(ts)) assert.equal(c.get(name), value, `${prefix}${name}`);
}

describe('plan format', () => {
  it('tag numbers match plan_format.h', () => {
    assertSame(Tag, 'T_');
    assertSame(NsTag, 'T_NS_');
    assertSame(MountTag, 'T_M_');
    assertSame(DeviceTag, 'T_D_');
    assertSame(KvTag, 'T_');
    assertSame(RlimitTag, 'T_RL_');
    assertSame(HookTag, 'T_H_');
    assertSame(Msg, 'MSG_');
    assert.equal(defines('PLAN_').get('MAGIC'), PLAN_MAGIC);
    assert.equal(defines('PLAN_').get('VERSION'), PLAN_VERSION);
    assert.equal(defines('MOUNT_KIND_').get('BIND'), MountKind.Bind);
    assert.equal(defines('MOUNT_KIND_').get('SYMLINK'), MountKind.Symlink);
  });

  it('encodes records as u16 tag, u32 length, payload; strings NUL-terminated', () => {
    const plan: LaunchPlan = {
      unshareFlags: 0x20000,
      join: [{ type: 0x40000000, path: '/proc/1/ns/net' }],
      needIdmap: false,
      setupRootfs: true,
      rootfs: '/r',
      rootfsPropagation: 0,
      rootReadonly: false,
      noPivot: false,
      mounts: [{ kind: MountKind.Fs, source: 'proc', target: '/proc', fstype: 'proc', flags: 0, propagation: 0, attrSet: 0, attrClr: 0, remountLate: false }],
      bindDevices: false,
      devices: [],
      maskedPaths: [],
      readonlyPaths: [],
      sysctls: [],
      rlimits: [{ name: 'RLIMIT_NOFILE', resource: 7, soft: 0xffffffffffffffffn, hard: 0xffffffffffffffffn }],
      args: ['sh'],
      env: [],
      cwd: '/',
      lookupPath: '',
      uid: 0,
      gid: 0,
      additionalGids: [],
      setgroups: true,
      caps: { bounding: 1n << 40n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n },
      noNewPrivileges: true,
      preserveFds: 0,
      hooks: { createContainer: [], startContainer: [] },
    };
    const buf = encodePlan(plan);
    assert.equal(buf.readUInt32LE(0), PLAN_MAGIC);
    const records: { tag: number; payload: Buffer }[] = [];
    for (let off = 8; off < buf.length; ) {
      const tag = buf.readUInt16LE(off);
      const len = buf.readUInt32LE(off + 4);
      records.push({ tag, payload: buf.subarray(off + 8, off + 8 + len) });
      off += 8 + len;
    }
    const rootfs = records.find((r) => r.tag === Tag.ROOTFS)!;
    assert.equal(rootfs.payload.toString(), '/r\0');
    const bounding = records.find((r) => r.tag === Tag.CAPS_BOUNDING)!;
    assert.equal(bounding.payload.readBigUInt64LE(0), 1n << 40n);
    const join = records.find((r) => r.tag === Tag.JOIN_NS)!;
    assert.equal(join.payload.readUInt16LE(0), NsTag.TYPE);
    assert.equal(join.payload.readBigUInt64LE(8), 0x40000000n);
    const rl = records.find((r) => r.tag === Tag.RLIMIT)!;
    assert.equal(rl.payload.readBigUInt64LE(8 + 8 + 8), 0xffffffffffffffffn, 'unlimited soft limit survives');
  });
});
