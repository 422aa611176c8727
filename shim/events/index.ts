/** Task events to containerd over ttrpc (TTRPC_ADDRESS). */
export { EventPublisher, EVENTS_SERVICE, type PublisherOptions, type PublisherLogger } from './publisher';
export { TASK_EVENTS, type TaskEvent, type TaskTopic } from './topics';
