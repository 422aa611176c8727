/**
 * The containerd.task.v2.Task service — PLACEHOLDER, to be replaced by the real task
 * service over runtime/. It answers Connect and Shutdown and returns Unimplemented for
 * everything else, so the shim's wire contract can be proven end to end before the
 * runtime exists. Keep the export: shim/cli/serve.ts calls `createTaskService`.
 */
import { containerd, google } from '../../proto/gen/task';
import { VERSION } from '../../runtime/version';
import { defineMethod, type MessageCodec, type MethodDefinition, type ServiceDefinition } from '../ttrpc/service';
import { Code, TtrpcError } from '../ttrpc/status';
import { cleanupDeadContainer } from './cleanup';
import type { TaskServiceFactory } from './contract';

export const TASK_SERVICE = 'containerd.task.v2.Task';

const v2 = containerd.task.v2;
const Empty = google.protobuf.Empty;

function notYet<Req, Res>(method: string, requestType: MessageCodec<Req, unknown>, responseType: MessageCodec<unknown, Res>): MethodDefinition<Req, Res> {
  return defineMethod(requestType, responseType, () => {
    throw new TtrpcError(Code.Unimplemented, `${method}: not implemented yet`);
  });
}

export const createTaskService: TaskServiceFactory = (shim) => {
  const containerCount = (): number => 0;

  const definition: ServiceDefinition = {
    serviceName: TASK_SERVICE,
    methods: {
      State: notYet('State', v2.StateRequest, v2.StateResponse),
      Create: notYet('Create', v2.CreateTaskRequest, v2.CreateTaskResponse),
      Start: notYet('Start', v2.StartRequest, v2.StartResponse),
      Delete: notYet('Delete', v2.DeleteRequest, v2.DeleteResponse),
      Pids: notYet('Pids', v2.PidsRequest, v2.PidsResponse),
      Pause: notYet('Pause', v2.PauseRequest, Empty),
      Resume: notYet('Resume', v2.ResumeRequest, Empty),
      Checkpoint: notYet('Checkpoint', v2.CheckpointTaskRequest, Empty),
      Kill: notYet('Kill', v2.KillRequest, Empty),
      Exec: notYet('Exec', v2.ExecProcessRequest, Empty),
      ResizePty: notYet('ResizePty', v2.ResizePtyRequest, Empty),
      CloseIO: notYet('CloseIO', v2.CloseIORequest, Empty),
      Update: notYet('Update', v2.UpdateTaskRequest, Empty),
      Wait: notYet('Wait', v2.WaitRequest, v2.WaitResponse),
      Stats: notYet('Stats', v2.StatsRequest, v2.StatsResponse),
      Connect: defineMethod(v2.ConnectRequest, v2.ConnectResponse, () => ({ shimPid: process.pid, taskPid: 0, version: VERSION })),
      Shutdown: defineMethod(v2.ShutdownRequest, Empty, (_req, ctx) => {
        // With containers left the shim keeps serving (`now` is ignored, as by the runc shim).
        if (containerCount() === 0) ctx.onResponded(() => shim.exit());
        return {};
      }),
    },
  };

  return {
    definition,
    containerCount,
    forceDelete: (target) => cleanupDeadContainer(target),
    close: async () => undefined,
  };
};
