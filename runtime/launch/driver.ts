/**
 * Drives hutch-init through its stages over the sync socket (named messages, see
 * addon/init/plan_format.h). The parent's part of each stage is a handler: attach
 * the first process to its cgroup before it reads the plan, write id maps, run the
 * network and createRuntime hooks, then `go`. Any failure kills what was started.
 */
import { encodePlan, Msg } from '../../addon/plan-codec';
import type { LaunchPlan } from '../../addon/plan';
import type { NativeOps } from '../../addon';
import { HutchError } from '../errors';
import { closeQuietly, initError, SyncChannel } from './sync-channel';

export interface InitProcess {
  /** host pid of the container init */
  pid: number;
  /** pidfd of the init (it is our child: CLONE_PARENT) */
  pidfd: number;
}

export interface LaunchHandlers {
  /** Put the first process in its cgroup (it has not run anything yet). */
  beforePlan(stage0Pid: number): Promise<void>;
  /** Write /proc/<pid>/uid_map and gid_map. */
  writeIdMaps(pid: number): Promise<void>;
  /** The init exists: record it. */
  initStarted(init: InitProcess): Promise<void>;
  /** Mounts are ready, before pivot_root: network, prestart and createRuntime hooks. Returns the state JSONs for in-container hooks. */
  atCreateRuntime(init: InitProcess): Promise<{ createState: string; startState: string }>;
  /** The seccomp notify listener fd. */
  seccompListener?(fd: number): Promise<void>;
}

export interface LaunchIo {
  /** fds for the container's 0, 1, 2 */
  stdio: [number, number, number];
  /** --preserve-fds: our fds 3..3+n-1 become the container's */
  preserveFds: number;
  /** exec.fifo opened O_PATH: the init reopens it for writing through /proc (it may not reach the state dir) */
  execFifoFd?: number;
  /** connected console socket to hand to hutch-init */
  consoleSocketFd?: number;
  /** cgroup v2 directory for CLONE_INTO_CGROUP */
  cgroupFd?: number;
}

function killQuietly(nativeOps: NativeOps, pidfd: number | undefined): void {
  if (pidfd === undefined) return;
  try {
    nativeOps.pidfdSendSignal(pidfd, 9);
  } catch {
    // already gone
  }
}

/** Reaps stage 0 without blocking the loop (it exits right after reporting the init). */
function reapLater(nativeOps: NativeOps, pidfd: number): void {
  nativeOps.watchExit(pidfd, true, () => closeQuietly(pidfd)).unref();
}

/** hutch-init started with its fds in place and the parent's end of the sync socket. */
interface Started {
  stage0: { pid: number; pidfd: number };
  channel: SyncChannel;
}

function startInit(op: string, nativeOps: NativeOps, plan: LaunchPlan, io: LaunchIo): Started {
  const [parentEnd, childEnd] = nativeOps.socketpair();
  const fds = [...io.stdio];
  for (let i = 0; i < io.preserveFds; i++) fds.push(3 + i);
  if (io.execFifoFd !== undefined) {
    plan.execFifoFd = fds.length;
    fds.push(io.execFifoFd);
  }
  if (io.consoleSocketFd !== undefined) {
    plan.consoleFd = fds.length;
    fds.push(io.consoleSocketFd);
  }
  const syncIndex = fds.length;
  fds.push(childEnd);

  let stage0: { pid: number; pidfd: number };
  try {
    stage0 = nativeOps.launch({ fds, args: [String(syncIndex)], cgroupFd: io.cgroupFd });
  } catch (e) {
    closeQuietly(parentEnd);
    closeQuietly(childEnd);
    throw new HutchError(op, `start hutch-init: ${(e as Error).message}`, { step: 'launch', errno: (e as NodeJS.ErrnoException).code });
  }
  closeQuietly(childEnd);
  return { stage0, channel: new SyncChannel(parentEnd, nativeOps, op) };
}

/**
 * Puts stage 0 in its cgroup while it makes namespaces: a v1 attach waits in the kernel
 * for an RCU grace period (~10 ms), stage 0 has its own ~5 ms of namespace work, and it
 * clones the container's process only after MSG_CGROUP_READY. The attach runs on the
 * thread pool, so the event loop keeps answering (id maps) meanwhile.
 */
function attachWhileItWorks(channel: SyncChannel, attach: () => Promise<void>): void {
  attach().then(
    () => {
      try {
        channel.send(Msg.CGROUP_READY);
      } catch {
        // hutch-init is gone: the message loop reports why
      }
    },
    (e: unknown) => channel.abort(e instanceof Error ? e : new Error(String(e))),
  );
}

/** After a failure: kill and reap what was started (the init or exec'd process, and stage 0). */
function abandon(nativeOps: NativeOps, started: Started, init: InitProcess | undefined, stage0Reaped: boolean): void {
  started.channel.close();
  killQuietly(nativeOps, init?.pidfd);
  if (init) {
    try {
      nativeOps.reap(init.pidfd, true);
    } catch {
      // not ours to reap after all
    }
    closeQuietly(init.pidfd);
  }
  if (!stage0Reaped) {
    killQuietly(nativeOps, started.stage0.pidfd);
    try {
      nativeOps.reap(started.stage0.pidfd, true);
    } catch {
      // already reaped
    }
    closeQuietly(started.stage0.pidfd);
  }
}

export async function launchInit(op: string, nativeOps: NativeOps, plan: LaunchPlan, io: LaunchIo, handlers: LaunchHandlers): Promise<InitProcess> {
  const started = startInit(op, nativeOps, plan, io);
  const { stage0, channel } = started;
  let init: InitProcess | undefined;
  let stage0Reaped = false;
  try {
    channel.send(Msg.PLAN, encodePlan(plan));
    attachWhileItWorks(channel, () => handlers.beforePlan(stage0.pid));
    for (;;) {
      const msg = await channel.next();
      switch (msg.type) {
        case Msg.IDMAP_REQUEST:
          await handlers.writeIdMaps(msg.payload.readUInt32LE(0));
          channel.send(Msg.IDMAP_DONE);
          break;
        case Msg.INIT_PID: {
          const pid = msg.payload.readUInt32LE(0);
          init = { pid, pidfd: nativeOps.pidfdOpen(pid) };
          reapLater(nativeOps, stage0.pidfd);
          stage0Reaped = true;
          await handlers.initStarted(init);
          channel.send(Msg.CONTINUE);
          break;
        }
        case Msg.AT_CREATE_RUNTIME: {
          const states = await handlers.atCreateRuntime(init!);
          channel.send(Msg.GO, Buffer.from(`${states.createState}\0${states.startState}\0`));
          break;
        }
        case Msg.SECCOMP_FD:
          if (handlers.seccompListener) await handlers.seccompListener(msg.fds[0]);
          closeQuietly(msg.fds[0]);
          break;
        case Msg.CREATED:
          channel.close();
          return init!;
        case Msg.ERROR:
          throw initError(op, msg.payload);
        default:
          throw new HutchError(op, `unexpected message ${msg.type} from hutch-init`, { step: 'sync' });
      }
    }
  } catch (e) {
    abandon(nativeOps, started, init, stage0Reaped);
    throw e;
  }
}

export interface ExecHandlers {
  /** Put stage 0 in the container's cgroup before it reads the plan. */
  beforePlan(stage0Pid: number): Promise<void>;
}

/**
 * Starts a process in a running container (plan from compileExecPlan) and resolves
 * once it has called execve: hutch-init's end of the sync socket is close-on-exec, so
 * EOF after `exec-started` means the program runs; an error message before it is the
 * failure (`exec: "foo": executable file not found in $PATH`).
 */
export async function launchExec(op: string, nativeOps: NativeOps, plan: LaunchPlan, io: LaunchIo, handlers: ExecHandlers): Promise<InitProcess> {
  const started = startInit(op, nativeOps, plan, io);
  const { stage0, channel } = started;
  let proc: InitProcess | undefined;
  let stage0Reaped = false;
  let execStarted = false;
  try {
    channel.send(Msg.PLAN, encodePlan(plan));
    attachWhileItWorks(channel, () => handlers.beforePlan(stage0.pid));
    for (;;) {
      let msg;
      try {
        msg = await channel.next();
      } catch (e) {
        if (execStarted && channel.ended) {
          channel.close();
          return proc!;
        }
        throw e;
      }
      switch (msg.type) {
        case Msg.INIT_PID: {
          const pid = msg.payload.readUInt32LE(0);
          proc = { pid, pidfd: nativeOps.pidfdOpen(pid) };
          reapLater(nativeOps, stage0.pidfd);
          stage0Reaped = true;
          channel.send(Msg.CONTINUE);
          break;
        }
        case Msg.SECCOMP_FD:
          closeQuietly(msg.fds[0]);
          break;
        case Msg.EXEC_STARTED:
          execStarted = true;
          break;
        case Msg.ERROR:
          throw initError(op, msg.payload);
        default:
          throw new HutchError(op, `unexpected message ${msg.type} from hutch-init`, { step: 'sync' });
      }
    }
  } catch (e) {
    abandon(nativeOps, started, proc, stage0Reaped);
    throw e;
  }
}
