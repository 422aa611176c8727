/**
 * hutch.shim.v1.Admin: what the native launcher asks of a live group shim, so that
 * containerd's short-lived `delete` action needs no Node start-up. Delete answers with
 * the task API's DeleteResponse, whose bytes the launcher prints as they are.
 */
import { hutch } from '../../proto/gen/admin';
import { containerd } from '../../proto/gen/task';
import type { TaskServiceHandle } from '../task/contract';
import { defineMethod, type ServiceDefinition } from '../ttrpc/service';
import { Code, TtrpcError } from '../ttrpc/status';

/** Keep in step with addon/launcher/launcher.h. */
export const ADMIN_SERVICE = 'hutch.shim.v1.Admin';

export function adminService(task: TaskServiceHandle): ServiceDefinition {
  return {
    serviceName: ADMIN_SERVICE,
    methods: {
      Delete: defineMethod(hutch.shim.v1.DeleteRequest, containerd.task.v2.DeleteResponse, (req) => {
        if (!req.id || !req.bundle) throw new TtrpcError(Code.InvalidArgument, 'delete: id and bundle are required');
        return task.forceDelete({ id: req.id, bundle: req.bundle, namespace: req.namespace });
      }),
    },
  };
}
