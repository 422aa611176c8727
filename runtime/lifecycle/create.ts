/**
 * `create`: from a bundle to a container whose init waits on exec.fifo — the
 * process model of DESIGN.md. Each step that makes something pushes its undo, so a
 * failure at any point leaves no state directory, cgroup, mount or process behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { native, type NativeOps } from '../../addon';
import { cgroupManagerNamed } from '../../plugins/cgroup/select';
import type { CgroupHandle, CgroupManager } from '../../plugins/cgroup/manager';
import { HutchError } from '../errors';
import { runHooks } from '../hooks';
import { launchInit, type InitProcess } from '../launch/driver';
import { compilePlan, resolveRootfs } from '../launch/plan';
import { closeQuietly } from '../launch/sync-channel';
import { writeIdMaps } from '../launch/idmap';
import { sendSeccompListener } from '../launch/seccomp-listener';
import type { Spec } from '../spec/types';
import type { ContainerRecord } from '../state/record';
import { pidInNamespace, procStat } from '../state/proc';
import { StateStore } from '../state/store';
import { writePidFile } from './pid-file';
import { loadBundleSpec } from './load-spec';
import { networkForCreate } from './network';
import { nowRfc3339Nano, ociState } from './oci-state';
import { createCgroupOrSkip, type RootlessMode } from './rootless-cgroup';
import { UndoStack } from './undo';

/** O_PATH (not in fs.constants): an fd that names the fifo without opening it. */
const O_PATH = 0o10000000;

export interface CreateOptions {
  /** --root */
  root: string;
  id: string;
  /** --bundle (default: the current directory) */
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  /**
   * `run` in the foreground: called when the process has a terminal and there is no
   * --console-socket, for the console socket end of the caller's relay
   * (runtime/terminal/relay.ts), which then receives the pty master. The caller closes it.
   */
  foregroundConsole?: (spec: Spec) => number;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  preserveFds?: number;
  /** fds that become the container's stdio (default: our own 0, 1, 2) */
  stdio?: [number, number, number];
  /** the caller keeps the init's pidfd (run in the foreground, the shim) */
  keepPidfd?: boolean;
  /** --config / HUTCH_CONFIG: hutch's configuration file (network and other plugins) */
  configPath?: string;
  /** Edits the validated spec before anything is built (spec injectors). */
  injectSpec?: (spec: Spec, context: { id: string; bundle: string }) => Promise<Spec>;
  /** --rootless: whether cgroup permission errors are tolerated (default auto: when not root) */
  rootlessMode?: RootlessMode;
  warn?: (msg: string) => void;
  debug?: (msg: string) => void;
}

export interface CreatedContainer {
  record: ContainerRecord;
  init: InitProcess;
}

function checkTerminal(op: string, spec: Spec, consoleSocket: string | undefined): void {
  const terminal = spec.process?.terminal === true;
  if (terminal && !consoleSocket) {
    throw new HutchError(op, 'cannot allocate tty if hutch will detach without setting console socket (--console-socket)', {
      kind: 'invalid-argument',
      field: '--console-socket',
    });
  }
  if (!terminal && consoleSocket) {
    throw new HutchError(op, 'cannot use console socket if hutch will not detach or allocate tty (process.terminal is false)', {
      kind: 'invalid-argument',
      field: '--console-socket',
    });
  }
}

export function connectConsole(op: string, nativeOps: NativeOps, socketPath: string): number {
  try {
    if (!fs.statSync(socketPath).isSocket()) throw Object.assign(new Error('not a socket'), { code: 'ENOTSOCK' });
    return nativeOps.connectUnix(socketPath);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new HutchError(op, `--console-socket: ${socketPath}: ${err.code === 'ENOTSOCK' ? 'not a socket' : err.message}`, {
      kind: 'invalid-argument',
      field: '--console-socket',
      errno: err.code,
    });
  }
}

function ownerName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return String(process.getuid?.() ?? '');
  }
}

/** `io.hutch.cgroup` or the configuration's `cgroup.use`; the host's manager when neither says. */
async function cgroupManagerForSpec(spec: Spec, configPath: string | undefined): Promise<CgroupManager> {
  const { loadConfig, pluginFor } = require('../../plugins/config') as typeof import('../../plugins/config');
  const config = loadConfig(configPath);
  return cgroupManagerNamed(pluginFor(config, 'cgroup', spec.annotations ?? {}), () => config);
}

export async function createContainer(o: CreateOptions): Promise<CreatedContainer> {
  const op = 'create';
  const nativeOps = native();
  const store = new StateStore(o.root);
  const bundle = path.resolve(o.bundle ?? process.cwd());
  const debug = o.debug ?? ((): void => undefined);
  let spec = loadBundleSpec(op, bundle);
  debug(`${o.id}: spec loaded and valid`);
  if (o.injectSpec) spec = await o.injectSpec(spec, { id: o.id, bundle });
  const relayFd = spec.process?.terminal && !o.consoleSocket && o.foregroundConsole ? o.foregroundConsole(spec) : undefined;
  checkTerminal(op, spec, o.consoleSocket ?? (relayFd !== undefined ? 'relay' : undefined));
  const network = await networkForCreate(op, spec, o.configPath);

  const undo = new UndoStack();
  const lock = await store.claim(op, o.id);
  undo.push('remove state directory', () => store.remove(o.id));
  const record: ContainerRecord = {
    version: 1,
    id: o.id,
    bundle,
    rootfs: resolveRootfs(spec, bundle),
    pid: 0,
    pidStartTime: '',
    created: nowRfc3339Nano(),
    owner: ownerName(),
    status: 'creating',
    spec,
    rootless: process.getuid?.() !== 0,
  };
  let consoleFd: number | undefined;
  let execFifoFd: number | undefined;
  let cgroupFd: number | undefined;
  let init: InitProcess | undefined;
  try {
    const manager: CgroupManager = await cgroupManagerForSpec(spec, o.configPath);
    const cgroup: CgroupHandle | undefined = await createCgroupOrSkip(
      manager,
      { id: o.id, cgroupsPath: spec.linux?.cgroupsPath, resources: spec.linux?.resources, devices: spec.linux?.devices, rootless: record.rootless, debug: o.debug },
      { mode: o.rootlessMode ?? 'auto', rootless: record.rootless, warn: o.warn, debug: o.debug },
    );
    if (cgroup) {
      undo.push('remove cgroup', () => manager.destroy(cgroup));
      // a manager other than the host's own is recorded, so later commands find it
      if (manager.name !== 'v1' && manager.name !== 'v2') cgroup.manager = manager.name;
      record.cgroup = cgroup;
    }
    store.write(record);
    debug(cgroup ? `${o.id}: cgroup ${cgroup.path} created` : `${o.id}: no cgroup`);

    const execFifo = store.execFifoPath(o.id);
    nativeOps.mkfifo(execFifo, 0o622);
    execFifoFd = fs.openSync(execFifo, O_PATH);
    if (o.consoleSocket) consoleFd = connectConsole(op, nativeOps, o.consoleSocket);
    else consoleFd = relayFd;
    cgroupFd = cgroup ? manager.openForClone?.(cgroup) : undefined;
    const plan = compilePlan(
      spec,
      {
        op,
        bundle,
        rootfs: record.rootfs,
        noPivot: o.noPivot === true,
        preserveFds: o.preserveFds ?? 0,
        cgroupSources: cgroup ? manager.mountSources(cgroup) : [],
        rootless: record.rootless,
        sessionKeyring: o.noNewKeyring ? undefined : `_ses.${o.id}`,
      },
      nativeOps,
    );
    debug(`${o.id}: plan compiled (${plan.mounts.length} mounts, ${plan.devices.length} devices)`);
    init = await launchInit(
      op,
      nativeOps,
      plan,
      { stdio: o.stdio ?? [0, 1, 2], preserveFds: o.preserveFds ?? 0, execFifoFd, consoleSocketFd: consoleFd, cgroupFd },
      {
        beforePlan: async (pid) => {
          debug(`${o.id}: hutch-init started, pid ${pid}`);
          if (cgroup && cgroupFd === undefined) await manager.attach(cgroup, pid);
          debug(`${o.id}: pid ${pid} in its cgroup`);
        },
        writeIdMaps: async (pid) => writeIdMaps(op, pid, spec),
        initStarted: async (started) => {
          debug(`${o.id}: container init is pid ${started.pid}`);
          record.pid = started.pid;
          record.pidStartTime = procStat(started.pid)?.startTime ?? '';
          store.write(record);
        },
        atCreateRuntime: async (started) => {
          debug(`${o.id}: mounts ready, createRuntime point`);
          if (network) {
            const netnsPath = `/proc/${started.pid}/ns/net`;
            // saved first: a crash from here on leaves what delete needs to undo it
            record.network = { plugin: network.name, interfaces: [], ips: [] };
            store.write(record);
            undo.push('tear down the network', () => network.teardown({ id: o.id, netnsPath, result: record.network, annotations: spec.annotations }));
            record.network = await network.setup({ id: o.id, netnsPath, pid: started.pid, annotations: spec.annotations ?? {} });
            store.write(record);
            debug(`${o.id}: network ${record.network.plugin} set up: ${record.network.ips.map((i) => i.address).join(', ')}`);
          }
          const creating = ociState({ ...record, pid: started.pid }, 'creating');
          await runHooks(op, 'prestart', spec.hooks?.prestart, creating, bundle);
          await runHooks(op, 'createRuntime', spec.hooks?.createRuntime, creating, bundle);
          // hooks inside the container see the init's pid there (1 in a new pid namespace), as with runc
          const inside = { ...record, pid: pidInNamespace(started.pid) };
          return { createState: JSON.stringify(ociState(inside, 'creating')), startState: JSON.stringify(ociState(inside, 'created')) };
        },
        seccompListener: async (fd) => sendSeccompListener(op, nativeOps, spec.linux!.seccomp!, fd, record.pid, ociState(record, 'creating')),
      },
    );
    record.status = 'created';
    store.write(record);
    if (o.pidFile) writePidFile(op, o.pidFile, init.pid);
    undo.clear();
    debug(`${o.id}: created, init pid ${init.pid} waits on exec.fifo`);
    if (!o.keepPidfd) closeQuietly(init.pidfd);
    return { record, init };
  } catch (e) {
    if (init) closeQuietly(init.pidfd);
    await undo.run((what, err) => o.debug?.(`undo ${what}: ${(err as Error).message}`));
    throw e;
  } finally {
    if (relayFd === undefined) closeQuietly(consoleFd);
    closeQuietly(execFifoFd);
    closeQuietly(cgroupFd);
    lock.release();
  }
}
