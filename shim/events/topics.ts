/**
 * The task events a shim publishes, by topic: the message type and the type URL
 * containerd 1.6 resolves it by (the bare full name, no "type.googleapis.com/").
 */
import { containerd } from '../../proto/gen/events';

const e = containerd.events;

export const TASK_EVENTS = {
  '/tasks/create': { type: e.TaskCreate, typeUrl: 'containerd.events.TaskCreate' },
  '/tasks/start': { type: e.TaskStart, typeUrl: 'containerd.events.TaskStart' },
  '/tasks/exit': { type: e.TaskExit, typeUrl: 'containerd.events.TaskExit' },
  '/tasks/delete': { type: e.TaskDelete, typeUrl: 'containerd.events.TaskDelete' },
  '/tasks/oom': { type: e.TaskOOM, typeUrl: 'containerd.events.TaskOOM' },
  '/tasks/exec-added': { type: e.TaskExecAdded, typeUrl: 'containerd.events.TaskExecAdded' },
  '/tasks/exec-started': { type: e.TaskExecStarted, typeUrl: 'containerd.events.TaskExecStarted' },
  '/tasks/paused': { type: e.TaskPaused, typeUrl: 'containerd.events.TaskPaused' },
  '/tasks/resumed': { type: e.TaskResumed, typeUrl: 'containerd.events.TaskResumed' },
  '/tasks/checkpointed': { type: e.TaskCheckpointed, typeUrl: 'containerd.events.TaskCheckpointed' },
} as const;

export type TaskTopic = keyof typeof TASK_EVENTS;

/** The message a topic carries, e.g. TaskEvent<'/tasks/exit'> = containerd.events.TaskExit's properties. */
export type TaskEvent<T extends TaskTopic> = Parameters<(typeof TASK_EVENTS)[T]['type']['encode']>[0];
