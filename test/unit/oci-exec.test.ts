/**
 * exec's policy without root: the process runc would build from flags or a --process
 * file, users by name, the environment, the exec plan, sub-cgroups; and the rootless
 * decisions (which id maps need the setuid helpers, what running without a cgroup skips).
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { encodePlan, Tag } from '../../addon/plan-codec';
import { ContainerUsers, parseGroup, parsePasswd } from '../../runtime/exec/passwd';
import { applyUser, execProcessSpec, finalEnv, type ExecFlags } from '../../runtime/exec/process-spec';
import { setgroupsDenied } from '../../runtime/launch/idmap';
import { compileExecPlan } from '../../runtime/launch/plan';
import { execCgroup } from '../../runtime/lifecycle/exec';
import { checkRootlessMode, requestedResources } from '../../runtime/lifecycle/rootless-cgroup';
import { CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER } from '../../runtime/spec/namespaces';
import type { Process, Spec } from '../../runtime/spec/types';
import { HutchError } from '../../runtime/errors';

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n# comment\nbroken line\n';
const GROUP = 'root:x:0:\nusers:x:100:user\nwheel:x:10:root,user\n';

function containerProcess(): Process {
  return {
    terminal: true,
    user: { uid: 0, gid: 0 },
    args: ['sleep', '1000'],
    env: ['PATH=/bin', 'TERM=xterm'],
    cwd: '/',
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
    noNewPrivileges: true,
  };
}

function flags(over: Partial<ExecFlags> = {}): ExecFlags {
  return { args: ['sh'], env: [], additionalGids: [], caps: [], ...over };
}

/** Users read from strings, as from a container's /etc. */
function users(passwd = PASSWD, group = GROUP): ContainerUsers {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-exec-unit-'));
  fs.mkdirSync(path.join(dir, 'etc'));
  fs.writeFileSync(path.join(dir, 'etc', 'passwd'), passwd);
  fs.writeFileSync(path.join(dir, 'etc', 'group'), group);
  // a stand-in for openat2 RESOLVE_IN_ROOT: plain open under the directory
  return new ContainerUsers({ openInRoot: (root, file) => fs.openSync(path.join(root, file), 'r') }, dir);
}

describe('exec process', () => {
  it("starts from the container's process with the command line's changes, as runc does", () => {
    const base = containerProcess();
    const { process: p } = execProcessSpec('exec', base, flags({ args: ['ls', '-l'], cwd: '/tmp', env: ['A=1'], additionalGids: ['5'], caps: ['NET_ADMIN'], noNewPrivs: false }));
    assert.deepEqual(p.args, ['ls', '-l']);
    assert.equal(p.cwd, '/tmp');
    assert.deepEqual(p.env, ['PATH=/bin', 'TERM=xterm', 'A=1']);
    assert.deepEqual(p.user.additionalGids, [5]);
    assert.equal(p.terminal, false, 'no --tty: no terminal, whatever the container has');
    assert.equal(p.noNewPrivileges, false);
    assert.deepEqual(p.capabilities?.bounding, ['CAP_KILL', 'CAP_NET_ADMIN']);
    assert.equal(p.capabilities?.ambient, undefined, 'ambient only where inheritable ones exist');
    assert.deepEqual(base.args, ['sleep', '1000'], "the container's record is untouched");
    assert.equal(execProcessSpec('exec', base, flags({ tty: true })).process.terminal, true);
  });

  it('reads a --process file whole, and names what is wrong with it', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-exec-unit-'));
    const good = path.join(dir, 'p.json');
    fs.writeFileSync(good, JSON.stringify({ terminal: true, user: { uid: 7, gid: 8 }, args: ['id'], cwd: '/w', env: ['X=1'] }));
    const { process: p } = execProcessSpec('exec', containerProcess(), flags({ processFile: good, args: [] }));
    assert.deepEqual([p.args, p.user.uid, p.cwd, p.terminal], [['id'], 7, '/w', true]);
    const bad = path.join(dir, 'bad.json');
    fs.writeFileSync(bad, '{');
    assert.throws(() => execProcessSpec('exec', containerProcess(), flags({ processFile: bad })), /--process: .*bad.json: not valid JSON/);
    fs.writeFileSync(bad, JSON.stringify({ user: { uid: 0, gid: 0 }, cwd: '/' }));
    assert.throws(() => execProcessSpec('exec', containerProcess(), flags({ processFile: bad })), /process\.args: must name the program to run/);
    assert.throws(() => execProcessSpec('exec', containerProcess(), flags({ args: [] })), /the command to run is missing/);
    assert.throws(() => execProcessSpec('exec', containerProcess(), flags({ caps: ['CAP_NOPE'] })), /--cap: unknown capability "CAP_NOPE"/);
    assert.throws(() => execProcessSpec('exec', containerProcess(), flags({ cwd: 'rel' })), /--cwd: "rel" is not an absolute path/);
  });

  it('resolves users and groups by id or by name in the container', () => {
    const u = users();
    const p = containerProcess();
    applyUser('exec', p, 'user', u);
    assert.deepEqual([p.user.uid, p.user.gid], [1000, 1000], "a name: the user's primary group");
    applyUser('exec', p, 'user:wheel', u);
    assert.deepEqual([p.user.uid, p.user.gid], [1000, 10]);
    applyUser('exec', p, '4242:7', u);
    assert.deepEqual([p.user.uid, p.user.gid], [4242, 7]);
    assert.throws(() => applyUser('exec', p, 'bob', u), (e: HutchError) => e.field === '--user' && /unable to find user bob/.test(e.message));
    assert.throws(() => applyUser('exec', p, 'user:nogroup', u), /unable to find group nogroup/);
    assert.deepEqual(parsePasswd(PASSWD).map((e) => e.name), ['root', 'user'], 'comments and broken lines are skipped');
    assert.deepEqual(parseGroup(GROUP).find((g) => g.name === 'wheel')?.members, ['root', 'user']);
  });

  it('gives the environment one value per name (the last) and HOME from passwd', () => {
    const u = users();
    assert.deepEqual(finalEnv(['A=1', 'B=2', 'A=3'], 1000, u), ['A=3', 'B=2', 'HOME=/home/user']);
    assert.deepEqual(finalEnv(['HOME=/x'], 1000, u), ['HOME=/x']);
    assert.deepEqual(finalEnv([], 555, u), ['HOME=/'], 'no passwd entry: /');
    assert.deepEqual(finalEnv([], 0, users('', '')), ['HOME=/'], 'no passwd file: /');
  });
});

describe('exec plan', () => {
  const spec: Spec = {
    ociVersion: '1.0.2',
    process: containerProcess(),
    root: { path: 'rootfs' },
    hostname: 'box',
    mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
    hooks: { createContainer: [{ path: '/bin/true' }], startContainer: [{ path: '/bin/true' }] },
    linux: {
      namespaces: [{ type: 'user' }, { type: 'pid' }, { type: 'mount' }, { type: 'network', path: '/var/run/netns/x' }],
      uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
      maskedPaths: ['/proc/kcore'],
      sysctl: { 'net.ipv4.ip_forward': '1' },
      seccomp: { defaultAction: 'SCMP_ACT_ALLOW' },
    },
  };

  it("joins every namespace of the container through its init's /proc links, and does nothing else of create's", () => {
    const proc = { ...containerProcess(), args: ['id'] };
    const plan = compileExecPlan(spec, proc, { op: 'exec', initPid: 4321, rootfs: '/r', rootless: false, preserveFds: 2 }, { compileSeccomp: () => Buffer.from('bpf') });
    assert.deepEqual(plan.join, [
      { type: CLONE_NEWUSER, path: '/proc/4321/ns/user' },
      { type: CLONE_NEWPID, path: '/proc/4321/ns/pid' },
      { type: CLONE_NEWNS, path: '/proc/4321/ns/mnt' },
      { type: 0x40000000, path: '/proc/4321/ns/net' },
    ]);
    assert.equal(plan.unshareFlags, 0);
    assert.equal(plan.forkForExec, true);
    assert.equal(plan.setupRootfs, false);
    assert.deepEqual([plan.mounts, plan.maskedPaths, plan.sysctls, plan.hostname], [[], [], [], undefined]);
    assert.deepEqual(plan.hooks, { createContainer: [], startContainer: [] });
    assert.equal(plan.seccomp?.bpf.toString(), 'bpf', "the container's seccomp filter");
    assert.deepEqual([plan.args, plan.preserveFds, plan.needIdmap], [['id'], 2, false]);
    const encoded = encodePlan(plan);
    const tag = Buffer.alloc(2);
    tag.writeUInt16LE(Tag.FORK_FOR_EXEC);
    assert.ok(encoded.includes(tag), 'the exec record is in the encoded plan');
  });

  it('maps --cgroup to sub-cgroups of the container, per controller or all', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'oci-exec-cg-'));
    for (const c of ['memory', 'pids']) fs.mkdirSync(path.join(dir, c, 'sub'), { recursive: true });
    const handle = { version: 1 as const, path: '/hutch/c', dirs: { memory: path.join(dir, 'memory'), pids: path.join(dir, 'pids') } };
    assert.deepEqual(execCgroup('exec', handle, ['memory:sub']).dirs, { memory: path.join(dir, 'memory', 'sub'), pids: path.join(dir, 'pids') });
    assert.deepEqual(execCgroup('exec', handle, ['sub']).dirs, { memory: path.join(dir, 'memory', 'sub'), pids: path.join(dir, 'pids', 'sub') });
    assert.equal(execCgroup('exec', handle), handle);
    assert.throws(() => execCgroup('exec', handle, ['cpu:sub']), /no cgroup controller "cpu"/);
    assert.throws(() => execCgroup('exec', handle, ['../escape']), /not a sub-cgroup path/);
    assert.throws(() => execCgroup('exec', handle, ['memory:missing']), /missing does not exist/);
  });
});

describe('rootless decisions', () => {
  it('denies setgroups only where an unprivileged user maps just its own gid', () => {
    const gid = process.getegid!();
    const own: Spec = { ociVersion: '1.0.2', linux: { gidMappings: [{ containerID: 0, hostID: gid, size: 1 }] } };
    const sub: Spec = { ociVersion: '1.0.2', linux: { gidMappings: [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: 100000, size: 65536 }] } };
    assert.equal(setgroupsDenied(own, true), true);
    assert.equal(setgroupsDenied(sub, true), false, 'newgidmap leaves setgroups allowed');
    assert.equal(setgroupsDenied(own, false), false, 'root writes maps itself');
  });

  it('names the resources running without a cgroup skips, and checks --rootless', () => {
    assert.deepEqual(requestedResources({ devices: [{ allow: false, access: 'rwm' }], pids: { limit: 5 }, memory: {}, cpu: { shares: 10 } }), ['pids', 'cpu']);
    assert.deepEqual(requestedResources(undefined), []);
    for (const v of ['true', 'false', 'auto']) assert.equal(checkRootlessMode(v), v);
    assert.throws(() => checkRootlessMode('maybe'), /--rootless: "maybe" is not true, false or auto/);
  });
});
