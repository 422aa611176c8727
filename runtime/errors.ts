/**
 * The one error type of hutch. Every failure names what was being done (`op`),
 * the step inside it, and where it can the errno, path or JSON field — so the CLI
 * can print one clear line and the shim can map it to a gRPC code.
 *
 * Example: new HutchError('create', 'mount "proc" on /proc: operation not permitted',
 *   { step: 'mount', errno: 'EPERM', path: '/proc' })
 */
export type ErrorKind =
  | 'invalid-argument'
  | 'not-found'
  | 'already-exists'
  | 'failed-precondition'
  | 'unimplemented'
  | 'unavailable'
  | 'permission-denied'
  | 'internal';

export interface ErrorDetail {
  kind?: ErrorKind;
  step?: string;
  errno?: string;
  path?: string;
  field?: string;
  cause?: unknown;
}

export class HutchError extends Error {
  readonly op: string;
  readonly kind: ErrorKind;
  readonly step?: string;
  readonly errno?: string;
  readonly path?: string;
  readonly field?: string;

  constructor(op: string, detail: string, info: ErrorDetail = {}) {
    super(op ? `${op}: ${detail}` : detail, info.cause === undefined ? undefined : { cause: info.cause });
    this.name = 'HutchError';
    this.op = op;
    this.kind = info.kind ?? kindOfErrno(info.errno);
    this.step = info.step;
    this.errno = info.errno;
    this.path = info.path;
    this.field = info.field;
  }

  /** The message without the leading "op: ", for wrapping under another op. */
  get detail(): string {
    return this.op && this.message.startsWith(`${this.op}: `) ? this.message.slice(this.op.length + 2) : this.message;
  }
}

/** A config.json (or other document) error that names the JSON path. */
export function invalidField(op: string, field: string, problem: string): HutchError {
  return new HutchError(op, `${field}: ${problem}`, { kind: 'invalid-argument', field });
}

function kindOfErrno(errno: string | undefined): ErrorKind {
  switch (errno) {
    case 'ENOENT':
    case 'ESRCH':
      return 'not-found';
    case 'EEXIST':
      return 'already-exists';
    case 'EPERM':
    case 'EACCES':
      return 'permission-denied';
    case 'EINVAL':
      return 'invalid-argument';
    default:
      return 'internal';
  }
}

/** Lower-case strerror text as runc prints it ("operation not permitted"). */
export function errnoText(errno: string): string {
  return ERRNO_TEXT[errno] ?? errno;
}

const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process',
  EINTR: 'interrupted system call',
  EIO: 'input/output error',
  E2BIG: 'argument list too long',
  ENOEXEC: 'exec format error',
  EBADF: 'bad file descriptor',
  ECHILD: 'no child processes',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'cannot allocate memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address',
  EBUSY: 'device or resource busy',
  EEXIST: 'file exists',
  EXDEV: 'invalid cross-device link',
  ENODEV: 'no such device',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  ENFILE: 'too many open files in system',
  EMFILE: 'too many open files',
  ENOTTY: 'inappropriate ioctl for device',
  ETXTBSY: 'text file busy',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EPIPE: 'broken pipe',
  ERANGE: 'numerical result out of range',
  ENAMETOOLONG: 'file name too long',
  ENOSYS: 'function not implemented',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many levels of symbolic links',
  EOPNOTSUPP: 'operation not supported',
  ENOTSUP: 'operation not supported',
  EADDRINUSE: 'address already in use',
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
  ENOTSOCK: 'socket operation on non-socket',
};
