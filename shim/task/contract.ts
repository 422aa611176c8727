/**
 * The seam between the shim's plumbing (socket, flags, logs, events, admin service)
 * and the task service. shim/cli/serve.ts builds a ShimContext, calls
 * `createTaskService` from shim/task/service.ts, registers the returned definition
 * on the ttrpc server and consults the handle for Shutdown and for the admin delete.
 */
import type { Logger } from 'pino';

import type { containerd } from '../../proto/gen/task';
import type { EventPublisher } from '../events/publisher';
import type { ServiceDefinition } from '../ttrpc/service';

/** What the shim was started with, and the services it offers a task service. */
export interface ShimContext {
  /** the -id of the container that started this shim (the first of its group) */
  id: string;
  namespace: string;
  /** that container's bundle (the server's working directory) */
  bundle: string;
  /** containerd's gRPC address (-address) */
  containerdAddress: string;
  debug: boolean;
  logger: Logger;
  /** task events to containerd, in order */
  events: EventPublisher;
  /**
   * Ends the shim: stops serving, sends queued events, removes the socket and exits.
   * Call it from a handler through ctx.onResponded so that the answer goes out first.
   */
  exit(): void;
}

/** What the `delete` action reports: DeleteResponse's fields. */
export type DeleteResult = containerd.task.v2.DeleteResponse.$Properties;

export interface DeleteTarget {
  id: string;
  bundle: string;
  namespace: string;
}

export interface TaskServiceHandle {
  /** the containerd.task.v2.Task service */
  definition: ServiceDefinition;
  /**
   * The `delete` action, asked of the live group shim by the launcher: force-delete
   * the container if it is still here, release what it holds, report its exit.
   */
  forceDelete(target: DeleteTarget): Promise<DeleteResult>;
  /** before the shim exits on SIGTERM/SIGINT or Shutdown */
  close(): Promise<void>;
}

export type TaskServiceFactory = (shim: ShimContext) => TaskServiceHandle;
