/**
 * Call status on the ttrpc wire: gRPC codes in a google.rpc.Status. This is the one
 * place where hutch's errors (HutchError.kind, errno codes) become codes; containerd
 * turns the codes back into its error classes (errdefs.FromGRPC) and branches on them,
 * e.g. a Delete answered NotFound is taken as "already gone".
 */
import { HutchError, type ErrorKind } from '../../runtime/errors';

export enum Code {
  OK = 0,
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

export interface StatusDetail {
  typeUrl: string;
  value: Uint8Array;
}

/**
 * A call that ended with a non-OK status, on either side: a handler throws one to
 * choose the code; the client rejects with one.
 *
 * Example: throw new TtrpcError(Code.NotFound, `container "${id}": not found`);
 */
export class TtrpcError extends Error {
  constructor(
    readonly code: Code,
    message: string,
    readonly details: StatusDetail[] = [],
  ) {
    super(message);
    this.name = 'TtrpcError';
  }
}

/** What the Go client returns when the connection is gone: every pending call fails with it. */
export function closedError(): TtrpcError {
  return new TtrpcError(Code.Unavailable, 'ttrpc: closed');
}

export function deadlineError(): TtrpcError {
  return new TtrpcError(Code.DeadlineExceeded, 'context deadline exceeded');
}

export function oversizedError(length: number, max: number): TtrpcError {
  return new TtrpcError(Code.ResourceExhausted, `message length ${length} exceed maximum message size of ${max}`);
}

const CODE_OF_KIND: Record<ErrorKind, Code> = {
  'invalid-argument': Code.InvalidArgument,
  'not-found': Code.NotFound,
  'already-exists': Code.AlreadyExists,
  'failed-precondition': Code.FailedPrecondition,
  unimplemented: Code.Unimplemented,
  unavailable: Code.Unavailable,
  'permission-denied': Code.PermissionDenied,
  // Go's ttrpc answers a plain error with Unknown; containerd reads Internal and
  // Unknown alike (ErrUnknown), and Unknown keeps Internal for protocol failures.
  internal: Code.Unknown,
};

/** errno codes that Go's ttrpc server maps itself (os.ErrNotExist, os.ErrExist, permission). */
const CODE_OF_ERRNO: Record<string, Code> = {
  ENOENT: Code.NotFound,
  ESRCH: Code.NotFound,
  EEXIST: Code.AlreadyExists,
  EPERM: Code.PermissionDenied,
  EACCES: Code.PermissionDenied,
};

/** The status a handler's failure is answered with. */
export function statusOfError(err: unknown): { code: Code; message: string; details: StatusDetail[] } {
  if (err instanceof TtrpcError) return { code: err.code, message: err.message, details: err.details };
  if (err instanceof HutchError) return { code: CODE_OF_KIND[err.kind], message: err.message, details: [] };
  if (err instanceof Error) {
    if (err.name === 'AbortError' || err.name === 'TimeoutError') {
      return { code: err.name === 'TimeoutError' ? Code.DeadlineExceeded : Code.Canceled, message: err.message, details: [] };
    }
    const errno = (err as NodeJS.ErrnoException).code;
    return { code: (errno && CODE_OF_ERRNO[errno]) || Code.Unknown, message: err.message, details: [] };
  }
  return { code: Code.Unknown, message: String(err), details: [] };
}
