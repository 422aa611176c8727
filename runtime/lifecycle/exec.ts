/**
 * `exec`: a new process in a running (or created) container. It joins every namespace
 * of the container through the init's /proc/<pid>/ns links and the container's cgroup
 * (or a sub-cgroup, --cgroup), and gets its own user, capabilities, limits and the
 * container's seccomp filter. Nothing is recorded: like runc, exec'd processes are the
 * caller's to reap (the shim and conmon are subreapers).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native, type NativeOps } from '../../addon';
import { warmAttachLock } from '../../plugins/cgroup/attach-warmup';
import { cgroupManagerOf } from '../../plugins/cgroup/select';
import type { CgroupHandle } from '../../plugins/cgroup/manager';
import { HutchError } from '../errors';
import { applyUser, finalEnv } from '../exec/process-spec';
import { ContainerUsers } from '../exec/passwd';
import { launchExec, type InitProcess } from '../launch/driver';
import { compileExecPlan } from '../launch/plan';
import { closeQuietly } from '../launch/sync-channel';
import type { Process } from '../spec/types';
import type { ContainerRecord } from '../state/record';
import { isSameLiveProcess } from '../state/proc';
import { liveStatus } from '../state/status';
import { StateStore } from '../state/store';
import { connectConsole } from './create';
import { writePidFile } from './pid-file';

export interface ExecOptions {
  root: string;
  id: string;
  /** The process to run, from the container's record (exec flags or --process). */
  process: (record: ContainerRecord) => { process: Process; user?: string };
  /** the process runs detached: a terminal then needs a console socket */
  detach: boolean;
  consoleSocket?: string;
  /**
   * A foreground process with a terminal and no --console-socket: called for the
   * console socket end of the caller's relay (runtime/terminal/relay.ts), which then
   * receives the pty master. The caller closes it.
   */
  foregroundConsole?: (process: Process) => number;
  pidFile?: string;
  preserveFds?: number;
  /** --cgroup: [controller[,controller]:]sub-cgroup, repeatable */
  subCgroups?: string[];
  ignorePaused?: boolean;
  /** fds that become the process' stdio (default: our own 0, 1, 2) */
  stdio?: [number, number, number];
  debug?: (msg: string) => void;
}

/** Thrown when the process could not be started (runc exits 255 then), as opposed to bad input. */
export class ExecLaunchError extends HutchError {}

export interface ExecPrepared {
  record: ContainerRecord;
  process: Process;
  /** the foreground relay's console socket end, when there is one */
  relayFd?: number;
}

function statusError(id: string, status: string, ignorePaused: boolean): HutchError | undefined {
  if (status === 'stopped') return new HutchError('exec', `cannot exec in a stopped container (${id})`, { kind: 'failed-precondition' });
  if ((status === 'paused' || status === 'pausing') && !ignorePaused) {
    return new HutchError('exec', `cannot exec in a paused container (${id}; use --ignore-paused to override)`, { kind: 'failed-precondition' });
  }
  if (status === 'creating') return new HutchError('exec', `cannot exec in a container that is still being created (${id})`, { kind: 'failed-precondition' });
  return undefined;
}

function checkTerminal(p: Process, detach: boolean, hasSocket: boolean): void {
  if (p.terminal && detach && !hasSocket) {
    throw new HutchError('exec', 'cannot allocate tty if hutch will detach without setting console socket (--console-socket)', {
      kind: 'invalid-argument',
      field: '--console-socket',
    });
  }
  if (hasSocket && (!p.terminal || !detach)) {
    throw new HutchError('exec', 'cannot use console socket if hutch will not detach or allocate tty (--detach and --tty)', {
      kind: 'invalid-argument',
      field: '--console-socket',
    });
  }
}

/** The cgroup directories the process joins: the container's, or sub-cgroups of it. */
export function execCgroup(op: string, handle: CgroupHandle, subCgroups: string[] = []): CgroupHandle {
  if (subCgroups.length === 0) return handle;
  const dirs: Record<string, string> = {};
  for (const spec of subCgroups) {
    const colon = spec.indexOf(':');
    const controllers = colon >= 0 ? spec.slice(0, colon).split(',') : undefined;
    const sub = colon >= 0 ? spec.slice(colon + 1) : spec;
    // checked as given: normalising first would turn "../x" into a path that looks harmless
    if (!sub || sub.split('/').includes('..')) {
      throw new HutchError(op, `--cgroup: "${spec}" is not a sub-cgroup path`, { kind: 'invalid-argument', field: '--cgroup' });
    }
    const keys = Object.keys(handle.dirs).filter((k) => !controllers || k.split(',').some((c) => controllers.includes(c)));
    if (controllers && keys.length === 0) {
      throw new HutchError(op, `--cgroup: no cgroup controller "${controllers.join(',')}" for this container`, { kind: 'invalid-argument', field: '--cgroup' });
    }
    for (const k of keys) {
      const dir = path.join(handle.dirs[k], sub);
      if (!fs.existsSync(dir)) throw new HutchError(op, `--cgroup: ${dir} does not exist`, { kind: 'invalid-argument', field: '--cgroup', errno: 'ENOENT' });
      dirs[k] = dir;
    }
  }
  return { ...handle, dirs: { ...handle.dirs, ...dirs } };
}

/** Everything checked before anything starts: bad input fails here with nothing to undo. */
export async function prepareExec(o: ExecOptions, nativeOps: NativeOps = native()): Promise<ExecPrepared> {
  const op = 'exec';
  const store = new StateStore(o.root);
  const record = store.read(op, o.id);
  const status = await liveStatus(store, record);
  const refused = statusError(o.id, status, o.ignorePaused === true);
  if (refused) throw refused;
  const { process, user } = o.process(record);
  const users = new ContainerUsers(nativeOps, `/proc/${record.pid}/root`);
  if (user) applyUser(op, process, user, users);
  process.env = finalEnv(process.env ?? [], process.user.uid, users);
  const relayFd = process.terminal && !o.detach && !o.consoleSocket && o.foregroundConsole ? o.foregroundConsole(process) : undefined;
  checkTerminal(process, o.detach, o.consoleSocket !== undefined);
  if (process.apparmorProfile) o.debug?.(`apparmor profile "${process.apparmorProfile}" ignored: no AppArmor support`);
  if (process.selinuxLabel) o.debug?.(`SELinux label "${process.selinuxLabel}" ignored: no SELinux support`);
  return { record, process, relayFd };
}

export async function execInContainer(o: ExecOptions): Promise<InitProcess> {
  const op = 'exec';
  void warmAttachLock(op);
  const nativeOps = native();
  const { record, process, relayFd } = await prepareExec(o, nativeOps);
  const cgroup = record.cgroup ? execCgroup(op, record.cgroup, o.subCgroups) : undefined;
  const plan = compileExecPlan(record.spec, process, { op, initPid: record.pid, rootfs: record.rootfs, rootless: record.rootless, preserveFds: o.preserveFds ?? 0 }, nativeOps);
  const consoleFd = relayFd ?? (o.consoleSocket ? connectConsole(op, nativeOps, o.consoleSocket) : undefined);
  // Pin the init: its namespaces are joined by /proc/<pid>/ns, so it must still be the recorded process.
  let initPidfd: number;
  try {
    initPidfd = nativeOps.pidfdOpen(record.pid);
  } catch {
    throw new HutchError(op, `cannot exec in a stopped container (${o.id})`, { kind: 'failed-precondition' });
  }
  try {
    if (!isSameLiveProcess(record.pid, record.pidStartTime)) throw new HutchError(op, `cannot exec in a stopped container (${o.id})`, { kind: 'failed-precondition' });
    let proc: InitProcess;
    try {
      proc = await launchExec(op, nativeOps, plan, { stdio: o.stdio ?? [0, 1, 2], preserveFds: o.preserveFds ?? 0, consoleSocketFd: consoleFd }, {
        beforePlan: async (pid) => {
          if (!cgroup) return;
          try {
            await (await cgroupManagerOf(cgroup)).attach(cgroup, pid);
          } catch (e) {
            if (!record.rootless) throw e;
            o.debug?.(`rootless: the process stays out of the container's cgroup (${(e as Error).message})`);
          }
        },
      });
    } catch (e) {
      if (e instanceof HutchError) throw new ExecLaunchError('exec failed', e.detail, { step: e.step, errno: e.errno, kind: e.kind });
      throw e;
    }
    if (o.pidFile) writePidFile(op, o.pidFile, proc.pid);
    o.debug?.(`exec in ${o.id}: pid ${proc.pid}`);
    return proc;
  } finally {
    closeQuietly(initPidfd);
    if (relayFd === undefined) closeQuietly(consoleFd);
  }
}
