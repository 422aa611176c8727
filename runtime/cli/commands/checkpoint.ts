/**
 * `checkpoint` and `restore`: runc's CRIU commands. hutch has no CRIU integration, so
 * both take runc's flags and fail with one line that says so (exit 1), leaving the
 * container as it was — rather than runc's "unknown command" for a command it lists.
 */
import type { FlagSpec } from '../args';
import { requireId, type Command } from '../command';
import { HutchError } from '../../errors';

const CRIU_FLAGS: FlagSpec[] = [
  { name: 'image-path', type: 'string', help: 'path for saving criu image files' },
  { name: 'work-path', type: 'string', help: 'path for saving work files and logs' },
  { name: 'tcp-established', type: 'bool', help: 'allow open tcp connections' },
  { name: 'ext-unix-sk', type: 'bool', help: 'allow external unix sockets' },
  { name: 'shell-job', type: 'bool', help: 'allow shell jobs' },
  { name: 'file-locks', type: 'bool', help: 'handle file locks' },
  { name: 'manage-cgroups-mode', type: 'string', help: 'cgroups mode' },
  { name: 'empty-ns', type: 'list', help: 'create a namespace, but do not restore its properties' },
  { name: 'auto-dedup', type: 'bool', help: 'enable auto deduplication of memory images' },
  { name: 'lazy-pages', type: 'bool', help: 'use userfaultfd to lazily restore memory pages' },
];

/** A command with runc's flags whose every run fails with one line: no CRIU. */
function criuCommand(name: 'checkpoint' | 'restore', summary: string, flags: FlagSpec[]): Command {
  return {
    name,
    summary: `${summary} (not supported: no CRIU integration)`,
    usage: '<container-id>',
    flags: [...CRIU_FLAGS, ...flags],
    async run(ctx) {
      requireId(name, ctx);
      throw new HutchError(name, 'not supported: hutch has no CRIU integration', { kind: 'unimplemented' });
    },
  };
}

export const checkpoint = criuCommand('checkpoint', 'checkpoint a running container', [
  { name: 'parent-path', type: 'string', help: 'path for previous criu image files in pre-dump' },
  { name: 'leave-running', type: 'bool', help: 'leave the process running after checkpointing' },
  { name: 'status-fd', type: 'int', help: 'criu writes \\0 to this FD once lazy-pages is ready' },
  { name: 'page-server', type: 'string', help: 'ADDRESS:PORT of the page server' },
  { name: 'pre-dump', type: 'bool', help: 'dump container memory only' },
]);

export const restore = criuCommand('restore', 'restore a container from a checkpoint', [
  { name: 'bundle', short: 'b', type: 'string', help: 'path to the root of the bundle directory' },
  { name: 'console-socket', type: 'string', help: 'path to an AF_UNIX socket for the pty master' },
  { name: 'detach', short: 'd', type: 'bool', help: 'detach from the container process' },
  { name: 'pid-file', type: 'string', help: 'file to write the process id to' },
  { name: 'no-subreaper', type: 'bool', help: 'disable the use of the subreaper' },
  { name: 'no-pivot', type: 'bool', help: 'do not use pivot root' },
  { name: 'lsm-profile', type: 'string', help: 'LSM profile for the restored process' },
  { name: 'lsm-mount-context', type: 'string', help: 'LSM mount context' },
]);
