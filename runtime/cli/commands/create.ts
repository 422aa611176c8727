import type { Spec } from '../../spec/types';
import { flagBool, flagInt, flagString, type FlagSpec } from '../args';
import { requireId, type Command, type CommandContext } from '../command';
import { createContainer } from '../../lifecycle/create';
import { injectSpec } from '../../../plugins/inject';
import { checkRootlessMode } from '../../lifecycle/rootless-cgroup';

export const CREATE_FLAGS: FlagSpec[] = [
  { name: 'bundle', short: 'b', type: 'string', help: 'path to the root of the bundle directory (default: current directory)' },
  { name: 'console-socket', type: 'string', help: 'path to an AF_UNIX socket which will receive the pty master' },
  { name: 'pid-file', type: 'string', help: 'file to write the process id to' },
  { name: 'no-pivot', type: 'bool', help: 'do not use pivot_root to jail the process inside the rootfs' },
  { name: 'no-new-keyring', type: 'bool', help: 'do not create a new session keyring for the container' },
  { name: 'preserve-fds', type: 'string', help: 'pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N)' },
];

export function createOptions(op: string, ctx: CommandContext) {
  return {
    root: ctx.globals.root,
    id: requireId(op, ctx),
    bundle: flagString(ctx.args, 'bundle'),
    pidFile: flagString(ctx.args, 'pid-file'),
    consoleSocket: flagString(ctx.args, 'console-socket'),
    noPivot: flagBool(ctx.args, 'no-pivot'),
    noNewKeyring: flagBool(ctx.args, 'no-new-keyring'),
    preserveFds: flagInt(op, ctx.args, 'preserve-fds') ?? 0,
    rootlessMode: checkRootlessMode(ctx.globals.rootless),
    warn: (m: string) => ctx.log.warn(m),
    debug: (m: string) => ctx.log.debug(m),
    configPath: ctx.globals.config,
    // spec injectors (hooks.d, CDI, GPU, the user's): configuration from --config / HUTCH_CONFIG
    injectSpec: (spec: Spec, c: { id: string; bundle: string }) =>
      injectSpec(spec, { ...c, annotations: spec.annotations ?? {}, log: { debug: ctx.log.debug, info: ctx.log.info, warn: ctx.log.warn } }, ctx.globals.config),
  };
}

export const command: Command = {
  name: 'create',
  summary: 'create a container (its process waits for `start`)',
  usage: '<container-id>',
  flags: CREATE_FLAGS,
  async run(ctx) {
    await createContainer(createOptions('create', ctx));
  },
};
