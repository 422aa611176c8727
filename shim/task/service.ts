/**
 * containerd.task.v2.Task over the runtime library, in-process: no `hutch` binary is
 * run per operation. Each container's init is a child of the shim (CLONE_PARENT), so
 * its exit comes from its pidfd; events go out in the order containerd expects
 * (create → start → exit → delete; exec-added → exec-started → exit; an init's exit
 * after its execs').
 */
import { native } from '../../addon';
import { closeQuietly } from '../../runtime/launch/sync-channel';
import { cgroupManagerOf } from '../../plugins/cgroup/select';
import { HutchError } from '../../runtime/errors';
import { createContainer } from '../../runtime/lifecycle/create';
import { deleteContainer } from '../../runtime/lifecycle/delete';
import { killContainer } from '../../runtime/lifecycle/kill';
import { pauseContainer, resumeContainer } from '../../runtime/lifecycle/pause';
import { startContainer } from '../../runtime/lifecycle/start';
import { updateContainer } from '../../runtime/lifecycle/update';
import type { LinuxResources, Process } from '../../runtime/spec/types';
import { VERSION } from '../../runtime/version';
import { containerd, google } from '../../proto/gen/task';
import { toTimestamp, GO_ZERO_TIME } from '../timestamp';
import { defineMethod, type ServiceDefinition } from '../ttrpc/service';
import { Code, TtrpcError } from '../ttrpc/status';
import { cleanupDeadContainer } from './cleanup';
import { ShimContainer } from './container';
import type { ShimContext, TaskServiceFactory } from './contract';
import { execProcess } from './exec';
import { metricsAny } from './metrics';
import { ShimProcess } from './process';
import { startOrphanReaper } from './reaper';
import { mountRootfs, unmountRootfs } from './rootfs';
import { stateRoot } from './paths';
import { ProcessIo } from './stdio';
import { ShimConsole } from './console';

export const TASK_SERVICE = 'containerd.task.v2.Task';

const v2 = containerd.task.v2;
const Status = containerd.v1.types.Status;
const Empty = google.protobuf.Empty;

/** How long an init's exit waits for its execs' exits to be reported first. */
const EXEC_EXIT_GRACE_MS = 2000;

function notFound(what: string): TtrpcError {
  return new TtrpcError(Code.NotFound, `${what}: not found`);
}

function jsonOfAny<T>(any: { value?: Uint8Array | null } | null | undefined, what: string): T {
  try {
    return JSON.parse(Buffer.from(any?.value ?? new Uint8Array()).toString('utf8')) as T;
  } catch (e) {
    throw new TtrpcError(Code.InvalidArgument, `${what}: not JSON: ${(e as Error).message}`);
  }
}

export const createTaskService: TaskServiceFactory = (shim: ShimContext) => {
  const root = stateRoot(shim.namespace);
  /** hutch's configuration file (HUTCH_CONFIG in containerd's environment, else /etc/hutch/config.*) */
  const configPath = process.env.HUTCH_CONFIG || undefined;
  const containers = new Map<string, ShimContainer>();
  const log = shim.logger;
  const stopReaper = startOrphanReaper((pid) => [...containers.values()].some((c) => c.init.pid === pid || [...c.execs.values()].some((e) => e.pid === pid)));

  const container = (id: string | null | undefined): ShimContainer => {
    const c = containers.get(id ?? '');
    if (!c) throw notFound(`container ${id}`);
    return c;
  };
  const processOf = (id: string | null | undefined, execId: string | null | undefined): { c: ShimContainer; p: ShimProcess } => {
    const c = container(id);
    const p = c.process(execId);
    if (!p) throw notFound(`process ${execId}`);
    return { c, p };
  };

  /** Reports an exit once the matching start event is out, and an init's after its execs'. */
  const onExit = async (c: ShimContainer, p: ShimProcess): Promise<void> => {
    if (p.startRequested) await p.startPublished;
    if (p.isInit) {
      if (!c.ownPidNamespace && c.cgroup) await (await cgroupManagerOf(c.cgroup)).signalAll(c.cgroup, 9).catch(() => undefined);
      const execs = c.runningExecs().map((e) => e.wait());
      await Promise.race([Promise.all(execs), new Promise((r) => setTimeout(r, EXEC_EXIT_GRACE_MS))]);
    }
    log.info({ id: c.id, process: p.id, pid: p.pid, status: p.exit?.status }, 'process exited');
    void shim.events.publish('/tasks/exit', { containerId: c.id, id: p.id, pid: p.pid, exitStatus: p.exit!.status, exitedAt: toTimestamp(p.exit!.at) });
  };

  const exitInfo = (p: ShimProcess) => ({ pid: p.pid, exitStatus: p.exit?.status ?? 0, exitedAt: p.exit ? toTimestamp(p.exit.at) : GO_ZERO_TIME });

  const statusOf = async (c: ShimContainer, p: ShimProcess): Promise<number> => {
    switch (p.state) {
      case 'created':
        return Status.CREATED;
      case 'stopped':
      case 'deleted':
        return Status.STOPPED;
      case 'running': {
        if (!c.cgroup) return Status.RUNNING;
        const f = await (await cgroupManagerOf(c.cgroup)).freezerState(c.cgroup);
        return f === 'frozen' ? Status.PAUSED : f === 'freezing' ? Status.PAUSING : Status.RUNNING;
      }
    }
  };

  const definition: ServiceDefinition = {
    serviceName: TASK_SERVICE,
    methods: {
      Create: defineMethod(v2.CreateTaskRequest, v2.CreateTaskResponse, async (req) => {
        const id = req.id;
        if (containers.has(id)) throw new TtrpcError(Code.AlreadyExists, `container ${id}: already exists`);
        if (req.checkpoint) throw new TtrpcError(Code.Unimplemented, 'create from a checkpoint: not supported');
        const mounts = req.rootfs ?? [];
        const t0 = performance.now();
        mountRootfs(req.bundle, mounts);
        log.debug(`${id}: rootfs mounted (${mounts.length} mounts) in ${(performance.now() - t0).toFixed(1)} ms`);
        let io: ProcessIo | undefined;
        let tty: ShimConsole | undefined;
        try {
          // with a terminal the pty is the process' stdio, relayed to containerd's FIFOs
          io = req.terminal ? ProcessIo.none('create') : await ProcessIo.open('create', req, { processId: id, namespace: shim.namespace });
          tty = req.terminal ? ShimConsole.open('create', req) : undefined;
          const created = await createContainer({
            root,
            id,
            bundle: req.bundle,
            stdio: io.stdio,
            keepPidfd: true,
            configPath,
            foregroundConsole: tty ? () => tty!.childEnd : undefined,
            // hooks.d, CDI, GPU and the user's injectors apply under containerd as under the CLI
            injectSpec: (spec, c) => {
              const { injectSpec } = require('../../plugins/inject') as typeof import('../../plugins/inject');
              return injectSpec(spec, { ...c, annotations: spec.annotations ?? {}, log: { debug: (m) => log.debug(m), info: (m) => log.info(m), warn: (m) => log.warn(m) } }, configPath);
            },
            debug: (m) => log.debug(m),
          });
          io.releaseChildEnds();
          try {
            tty?.attach('create');
          } catch (e) {
            native().pidfdSendSignal(created.init.pidfd, 9);
            native().reap(created.init.pidfd, true); // at once: SIGKILL'd
            closeQuietly(created.init.pidfd);
            await deleteContainer({ root, id, force: true, configPath }).catch(() => undefined);
            throw e;
          }
          const ioDesc = { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: !!req.terminal };
          const init = new ShimProcess(id, id, ioDesc, io);
          init.console = tty;
          const c = new ShimContainer(id, req.bundle, init, mounts.length > 0);
          c.cgroup = created.record.cgroup;
          c.ownPidNamespace = (created.record.spec.linux?.namespaces ?? []).some((n) => n.type === 'pid' && !n.path);
          containers.set(id, c);
          init.track(created.init.pid, created.init.pidfd, (p) => void onExit(c, p));
          if (c.cgroup) {
            c.oom = (await cgroupManagerOf(c.cgroup)).watchOom(c.cgroup, () => void shim.events.publish('/tasks/oom', { containerId: id }));
          }
          void shim.events.publish('/tasks/create', { containerId: id, bundle: req.bundle, rootfs: mounts, io: ioDesc, checkpoint: req.checkpoint, pid: created.init.pid });
          return { pid: created.init.pid };
        } catch (e) {
          io?.releaseChildEnds();
          await io?.close();
          tty?.close();
          if (mounts.length) unmountRootfs(req.bundle);
          throw e;
        }
      }),

      Start: defineMethod(v2.StartRequest, v2.StartResponse, async (req) => {
        const { c, p } = processOf(req.id, req.execId);
        p.startRequested = true;
        try {
          if (p.isInit) {
            p.transition('running', 'start');
            await startContainer({ root, id: c.id, warn: (m) => log.warn(m) });
            void shim.events.publish('/tasks/start', { containerId: c.id, pid: p.pid });
          } else {
            const spec = c.pendingSpecs.get(p.id)!;
            await execProcess(root, shim.namespace, c, p, spec, (x) => void onExit(c, x), log);
            c.pendingSpecs.delete(p.id);
            p.transition('running', 'start');
            void shim.events.publish('/tasks/exec-started', { containerId: c.id, execId: p.id, pid: p.pid });
          }
        } finally {
          p.markStartPublished();
        }
        return { pid: p.pid };
      }),

      Delete: defineMethod(v2.DeleteRequest, v2.DeleteResponse, async (req) => {
        const { c, p } = processOf(req.id, req.execId);
        if (!p.isInit) {
          if (p.state === 'running') throw new TtrpcError(Code.FailedPrecondition, `exec ${p.id} is still running`);
          c.execs.delete(p.id);
          c.pendingSpecs.delete(p.id);
          await p.closeIo();
          return exitInfo(p);
        }
        if (p.state === 'running') throw new TtrpcError(Code.FailedPrecondition, `container ${c.id} is still running`);
        await deleteContainer({ root, id: c.id, force: false, warn: (m) => log.warn(m), configPath }).catch((e: unknown) => {
          if (!(e instanceof HutchError && e.kind === 'not-found')) throw e;
        });
        if (p.state === 'created') await p.wait();
        p.transition('deleted', 'delete');
        for (const e of c.execs.values()) await e.closeIo();
        await p.closeIo();
        c.oom?.dispose();
        if (c.rootfsMounted) unmountRootfs(c.bundle);
        containers.delete(c.id);
        const info = exitInfo(p);
        void shim.events.publish('/tasks/delete', { containerId: c.id, pid: info.pid, exitStatus: info.exitStatus, exitedAt: info.exitedAt, id: c.id });
        return info;
      }),

      Exec: defineMethod(v2.ExecProcessRequest, Empty, (req) => {
        const c = container(req.id);
        if (!req.execId) throw new TtrpcError(Code.InvalidArgument, 'exec: exec_id is required');
        if (c.execs.has(req.execId)) throw new TtrpcError(Code.AlreadyExists, `exec ${req.execId}: already exists`);
        const spec = jsonOfAny<Process>(req.spec, 'exec spec');
        const p = new ShimProcess(req.execId, c.id, { stdin: req.stdin, stdout: req.stdout, stderr: req.stderr, terminal: !!req.terminal });
        c.execs.set(req.execId, p);
        c.pendingSpecs.set(req.execId, spec);
        void shim.events.publish('/tasks/exec-added', { containerId: c.id, execId: req.execId });
        return {};
      }),

      Kill: defineMethod(v2.KillRequest, Empty, async (req) => {
        const { c, p } = processOf(req.id, req.execId);
        if (p.isInit && req.all) {
          await killContainer({ root, id: c.id, signal: req.signal, all: true });
          return {};
        }
        p.signal(req.signal);
        return {};
      }),

      Wait: defineMethod(v2.WaitRequest, v2.WaitResponse, async (req) => {
        const { p } = processOf(req.id, req.execId);
        const e = await p.wait();
        return { exitStatus: e.status, exitedAt: toTimestamp(e.at) };
      }),

      State: defineMethod(v2.StateRequest, v2.StateResponse, async (req) => {
        const { c, p } = processOf(req.id, req.execId);
        const status = await statusOf(c, p);
        return {
          id: p.id,
          bundle: c.bundle,
          status,
          stdin: p.io.stdin,
          stdout: p.io.stdout,
          stderr: p.io.stderr,
          terminal: p.io.terminal,
          ...exitInfo(p),
          execId: p.isInit ? '' : p.id,
        };
      }),

      Pids: defineMethod(v2.PidsRequest, v2.PidsResponse, async (req) => {
        const c = container(req.id);
        const pids = c.cgroup ? await (await cgroupManagerOf(c.cgroup)).pids(c.cgroup) : c.init.pid ? [c.init.pid] : [];
        const byPid = new Map([...c.execs.values()].map((e) => [e.pid, e.id]));
        const details = containerd.runc.v1.ProcessDetails;
        return {
          processes: pids.map((pid) => {
            const execId = byPid.get(pid);
            return execId ? { pid, info: { type_url: 'containerd.runc.v1.ProcessDetails', value: details.encode({ execId }).finish() } } : { pid };
          }),
        };
      }),

      Pause: defineMethod(v2.PauseRequest, Empty, async (req) => {
        const c = container(req.id);
        await pauseContainer({ root, id: c.id });
        void shim.events.publish('/tasks/paused', { containerId: c.id });
        return {};
      }),

      Resume: defineMethod(v2.ResumeRequest, Empty, async (req) => {
        const c = container(req.id);
        await resumeContainer({ root, id: c.id });
        void shim.events.publish('/tasks/resumed', { containerId: c.id });
        return {};
      }),

      Checkpoint: defineMethod(v2.CheckpointTaskRequest, Empty, () => {
        throw new TtrpcError(Code.Unimplemented, 'checkpoint: not supported (no CRIU integration)');
      }),

      ResizePty: defineMethod(v2.ResizePtyRequest, Empty, (req) => {
        const { p } = processOf(req.id, req.execId);
        p.console?.resize(req.width, req.height); // without a terminal: nothing to resize
        return {};
      }),

      CloseIO: defineMethod(v2.CloseIORequest, Empty, (req) => {
        const { p } = processOf(req.id, req.execId);
        if (req.stdin) {
          p.stdio?.closeStdin();
          p.console?.closeStdin();
        }
        return {};
      }),

      Update: defineMethod(v2.UpdateTaskRequest, Empty, async (req) => {
        const c = container(req.id);
        // through the runtime: merged with the stored resources and recorded in the state, as `hutch update`
        await updateContainer({ root, id: c.id, resources: jsonOfAny<LinuxResources>(req.resources, 'resources'), debug: (m) => log.debug(m) });
        return {};
      }),

      Stats: defineMethod(v2.StatsRequest, v2.StatsResponse, async (req) => {
        const c = container(req.id);
        if (!c.cgroup) throw notFound(`cgroup of ${c.id}`);
        return { stats: metricsAny(await (await cgroupManagerOf(c.cgroup)).stats(c.cgroup)) };
      }),

      Connect: defineMethod(v2.ConnectRequest, v2.ConnectResponse, (req) => ({
        shimPid: process.pid,
        taskPid: containers.get(req.id)?.init.pid ?? 0,
        version: VERSION,
      })),

      Shutdown: defineMethod(v2.ShutdownRequest, Empty, (_req, ctx) => {
        // With containers left the shim keeps serving (`now` is ignored, as by the runc shim).
        if (containers.size === 0) ctx.onResponded(() => shim.exit());
        return {};
      }),
    },
  };

  return {
    definition,
    forceDelete: async (target) => {
      const c = containers.get(target.id);
      if (c) {
        for (const p of [c.init, ...c.execs.values()]) {
          p.release();
          // not awaited: a logging binary's 12 s to finish must not hold up a forced delete
          void p.closeIo();
        }
        c.oom?.dispose();
        containers.delete(target.id);
      }
      return cleanupDeadContainer(target);
    },
    close: async () => {
      stopReaper();
      for (const c of containers.values()) for (const p of [c.init, ...c.execs.values()]) p.release();
    },
  };
};
