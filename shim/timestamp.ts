/**
 * google.protobuf.Timestamp values for the task API and events. containerd's
 * timestamps (exited_at, an Envelope's timestamp) are non-nullable: always send one;
 * GO_ZERO_TIME is what Go means by "no time".
 */
import Long = require('long');

export interface TimestampValue {
  seconds: Long;
  nanos: number;
}

/** Go's zero time.Time (0001-01-01T00:00:00Z). */
export const GO_ZERO_TIME: TimestampValue = { seconds: Long.fromString('-62135596800'), nanos: 0 };

/** A Timestamp for a Date or a number of milliseconds since the epoch (default: now). */
export function toTimestamp(when: Date | number = Date.now()): TimestampValue {
  const ms = typeof when === 'number' ? when : when.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: Long.fromNumber(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Milliseconds since the epoch of a decoded Timestamp (absent fields are 0). */
export function fromTimestamp(ts: { seconds?: Long | number | null; nanos?: number | null } | null | undefined): number {
  const s = ts?.seconds;
  const seconds = s === null || s === undefined ? 0 : typeof s === 'number' ? s : s.toNumber();
  return seconds * 1000 + (ts?.nanos ?? 0) / 1e6;
}
