/**
 * The serving shim (no action): the long-lived process containerd talks to. It is
 * the child subreaper, logs into the bundle's `log` FIFO, publishes events to
 * TTRPC_ADDRESS, serves the task and admin services on its socket, and exits on
 * SIGTERM/SIGINT or once Shutdown finds no container left, removing the socket.
 */
import * as fs from 'node:fs';

import { native } from '../../addon';
import { HutchError } from '../../runtime/errors';
import { adminService } from '../admin/service';
import { EventPublisher } from '../events/publisher';
import { openShimLog } from '../log';
import type { ShimContext, TaskServiceHandle } from '../task/contract';
import { createTaskService } from '../task/service';
import { TtrpcServer } from '../ttrpc/server';
import type { ShimFlags } from './flags';

/** containerd's default when TTRPC_ADDRESS is not set. */
const DEFAULT_TTRPC_ADDRESS = '/run/containerd/containerd.sock.ttrpc';

/** The fd `start` passes the listening socket on (as the runc shim: fd 3). */
const INHERITED_FD = 3;

export async function serve(flags: ShimFlags): Promise<void> {
  // ps (and the test suite's leak check) should see a containerd shim, not "node …"
  process.title = `containerd-shim-hutch-v2 -namespace ${flags.namespace} -id ${flags.id} -address ${flags.address}`;
  const bundle = flags.bundle || process.cwd();
  const { logger } = openShimLog(bundle, { id: flags.id, namespace: flags.namespace }, flags.debug);
  try {
    native().setChildSubreaper();
  } catch (e) {
    logger.warn({ err: (e as Error).message }, 'cannot become the child subreaper');
  }

  const events = new EventPublisher({ address: process.env.TTRPC_ADDRESS || DEFAULT_TTRPC_ADDRESS, namespace: flags.namespace, logger });
  const server = new TtrpcServer({ logger });
  let socketPath: string | undefined;
  let task: TaskServiceHandle | undefined;
  let exiting = false;

  const exit = async (code: number, why: string): Promise<void> => {
    if (exiting) return;
    exiting = true;
    logger.info({ why }, 'shim exiting');
    await server.shutdown().catch(() => undefined);
    await task?.close().catch((e: Error) => logger.warn({ err: e.message }, 'task service close failed'));
    await events.close().catch(() => undefined);
    if (socketPath) fs.rmSync(socketPath, { force: true });
    process.exit(code);
  };

  const shim: ShimContext = {
    id: flags.id,
    namespace: flags.namespace,
    bundle,
    containerdAddress: flags.address,
    debug: flags.debug,
    logger,
    events,
    exit: () => void exit(0, 'shutdown'),
  };
  task = createTaskService(shim);
  server.register(task.definition);
  server.register(adminService(task));

  process.on('SIGTERM', () => void exit(0, 'SIGTERM'));
  process.on('SIGINT', () => void exit(0, 'SIGINT'));
  process.on('uncaughtException', (err) => {
    logger.fatal({ err: err.stack ?? err.message }, 'uncaught exception');
    void exit(1, 'uncaught exception');
  });

  const inherited = process.env.HUTCH_SHIM_LISTEN_FD;
  delete process.env.HUTCH_SHIM_LISTEN_FD; // not for the containers' processes
  socketPath = flags.socket || undefined;
  try {
    if (inherited) await server.listenFd(Number(inherited), socketPath);
    else if (socketPath) await server.listen(socketPath, 0o600);
    else await server.listenFd(INHERITED_FD);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    logger.fatal({ err: err.message }, 'cannot serve');
    throw new HutchError('serve', `listen on ${socketPath ?? `fd ${inherited ?? INHERITED_FD}`}: ${err.message}`, { errno: err.code });
  }
  logger.info({ socket: socketPath }, 'serving');
}
