/**
 * Publishes task events to containerd: a ttrpc client to TTRPC_ADDRESS calling
 * containerd.services.events.ttrpc.v1.Events/Forward with an Envelope that names the
 * namespace. Events go out one at a time in the order they were published (containerd
 * and its clients rely on create → start → exit → delete), each call limited to 5 s,
 * a failed one retried with a growing pause (1 s × attempt, 5 attempts) over a fresh
 * connection when the old one closed — as containerd's runc shim does.
 *
 * Example:
 *   const events = new EventPublisher({ address: process.env.TTRPC_ADDRESS!, namespace });
 *   events.publish('/tasks/exit', { containerId: id, id, pid, exitStatus: 137, exitedAt: toTimestamp() });
 *   …
 *   await events.close();   // before the shim exits: sends what is queued
 */
import { containerd, google } from '../../proto/gen/events';
import { TtrpcClient } from '../ttrpc/client';
import { toTimestamp, type TimestampValue } from '../timestamp';
import { TASK_EVENTS, type TaskEvent, type TaskTopic } from './topics';

export const EVENTS_SERVICE = 'containerd.services.events.ttrpc.v1.Events';

export interface PublisherLogger {
  debug(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface PublisherOptions {
  /** containerd's ttrpc socket: TTRPC_ADDRESS (a plain path; `unix://` accepted) */
  address: string;
  /** the shim's -namespace */
  namespace: string;
  logger?: PublisherLogger;
  /** per Forward call (default 5000) */
  callTimeoutMs?: number;
  /** tries per event before it is dropped (default 5) */
  maxAttempts?: number;
  /** pause after the n-th failed try = backoffMs × n (default 1000) */
  backoffMs?: number;
  /** queue length past which each publish logs a warning (default 2048, as the runc shim's queue) */
  queueWarnAt?: number;
}

interface Queued {
  topic: string;
  typeUrl: string;
  value: Uint8Array;
  timestamp: TimestampValue;
  done(forwarded: boolean): void;
}

const quiet: PublisherLogger = { debug: () => undefined, warn: () => undefined, error: () => undefined };

export class EventPublisher {
  private readonly queue: Queued[] = [];
  private client: TtrpcClient | undefined;
  private running = false;
  private closing = false;
  private pauseTimer: NodeJS.Timeout | undefined;
  private wakePause: (() => void) | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly logger: PublisherLogger;
  private readonly callTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly backoffMs: number;
  private readonly queueWarnAt: number;

  constructor(private readonly options: PublisherOptions) {
    this.logger = options.logger ?? quiet;
    this.callTimeoutMs = options.callTimeoutMs ?? 5000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.backoffMs = options.backoffMs ?? 1000;
    this.queueWarnAt = options.queueWarnAt ?? 2048;
  }

  /**
   * Queues a task event, stamped now. Resolves to true once containerd has it, false
   * if it was dropped after the last retry or because the publisher closed; it never
   * rejects, so callers need not wait for it.
   */
  publish<T extends TaskTopic>(topic: T, event: TaskEvent<T>): Promise<boolean> {
    const { type, typeUrl } = TASK_EVENTS[topic];
    // `type` is the union of the topics' message classes; `event` matches this topic's
    const value = (type.encode as (m: TaskEvent<T>) => { finish(): Uint8Array })(event).finish();
    return this.publishAny(topic, typeUrl, value);
  }

  /** Queues an already encoded event of any type. */
  publishAny(topic: string, typeUrl: string, value: Uint8Array): Promise<boolean> {
    if (this.closing) return Promise.resolve(false);
    return new Promise((done) => {
      this.queue.push({ topic, typeUrl, value, timestamp: toTimestamp(), done });
      if (this.queue.length > this.queueWarnAt) this.logger.warn({ queued: this.queue.length }, 'events: containerd is not keeping up');
      if (!this.running) void this.run();
    });
  }

  /** Resolves when the queue is empty (or after `timeoutMs`). */
  flush(timeoutMs = 10_000): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.idleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * Sends what is queued (waiting at most `timeoutMs`), then closes the connection;
   * events still queued after that are dropped. Later publishes are refused.
   */
  async close(timeoutMs = 5000): Promise<void> {
    await this.flush(timeoutMs);
    this.closing = true;
    if (this.pauseTimer) clearTimeout(this.pauseTimer);
    this.wakePause?.();
    for (const q of this.queue.splice(0)) q.done(false);
    this.client?.close();
    this.client = undefined;
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0 && !this.closing) {
        const item = this.queue[0];
        const forwarded = await this.forwardWithRetries(item);
        if (this.queue[0] === item) this.queue.shift();
        item.done(forwarded);
      }
    } finally {
      this.running = false;
      if (this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async forwardWithRetries(item: Queued): Promise<boolean> {
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      if (this.closing) return false;
      try {
        await this.forward(item);
        return true;
      } catch (e) {
        const err = e as Error;
        this.logger.warn({ topic: item.topic, attempt, err: err.message }, 'events: forward failed');
        if (attempt < this.maxAttempts) await this.pause(this.backoffMs * attempt);
      }
    }
    this.logger.error({ topic: item.topic, attempts: this.maxAttempts }, 'events: dropped after retries');
    return false;
  }

  private async forward(item: Queued): Promise<void> {
    const client = await this.connection();
    const request: containerd.services.events.ttrpc.v1.ForwardRequest.$Properties = {
      envelope: {
        timestamp: item.timestamp,
        namespace: this.options.namespace,
        topic: item.topic,
        event: { type_url: item.typeUrl, value: item.value },
      },
    };
    await client.call(EVENTS_SERVICE, 'Forward', containerd.services.events.ttrpc.v1.ForwardRequest, google.protobuf.Empty, request, {
      timeoutMs: this.callTimeoutMs,
    });
    this.logger.debug({ topic: item.topic }, 'events: forwarded');
  }

  /** The open connection, or a new one when there is none or it closed. */
  private async connection(): Promise<TtrpcClient> {
    if (this.client && !this.client.closed) return this.client;
    this.client = undefined;
    const client = await TtrpcClient.connect(this.options.address, { timeoutMs: this.callTimeoutMs });
    // the connection alone must not keep the shim alive
    client.unref();
    this.client = client;
    return client;
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakePause = resolve;
      this.pauseTimer = setTimeout(resolve, ms);
    });
  }
}
