/**
 * `run`: create + start. Detached (-d) it returns once started; in the foreground it
 * forwards signals to the init, waits for it (the init is our child), removes the
 * container unless --keep, and exits with the container's status (128+N if killed).
 * A foreground process with a terminal gets it relayed by us (runtime/terminal/relay.ts).
 */
import { native } from '../../../addon';
import { flagBool } from '../args';
import type { Command } from '../command';
import { HutchError } from '../../errors';
import { createContainer } from '../../lifecycle/create';
import { deleteContainer } from '../../lifecycle/delete';
import { startContainer } from '../../lifecycle/start';
import { closeQuietly } from '../../launch/sync-channel';
import type { ExitStatus } from '../../../addon';
import { ConsoleRelay } from '../../terminal/relay';
import { CREATE_FLAGS, createOptions } from './create';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

export const command: Command = {
  name: 'run',
  summary: 'create and run a container',
  usage: '<container-id>',
  flags: [
    ...CREATE_FLAGS,
    { name: 'detach', short: 'd', type: 'bool', help: 'detach from the container process' },
    { name: 'keep', type: 'bool', help: 'do not delete the container after it exits' },
    { name: 'no-subreaper', type: 'bool', help: 'do not become a subreaper for orphans in the container' },
  ],
  async run(ctx) {
    const detach = flagBool(ctx.args, 'detach');
    const options = createOptions('run', ctx);
    const nativeOps = native();
    if (!detach && !flagBool(ctx.args, 'no-subreaper')) nativeOps.setChildSubreaper();
    let relay: ConsoleRelay | undefined;
    let created;
    try {
      created = await createContainer({
        ...options,
        keepPidfd: !detach,
        injectSpec: async (spec, c) => {
          if (!detach && spec.process?.terminal && options.consoleSocket) {
            throw new HutchError('run', 'cannot use console socket if hutch will not detach (--detach)', { kind: 'invalid-argument', field: '--console-socket' });
          }
          return options.injectSpec(spec, c);
        },
        foregroundConsole: detach
          ? undefined
          : (spec) => {
              relay = ConsoleRelay.open(nativeOps);
              const size = ConsoleRelay.hostSize(nativeOps);
              if (size && !spec.process!.consoleSize?.height) spec.process!.consoleSize = { height: size.rows, width: size.cols };
              return relay.childEnd;
            },
      });
    } catch (e) {
      relay?.close();
      throw e;
    }
    if (detach) {
      await startContainer({ root: options.root, id: options.id, warn: (m) => ctx.log.warn(m) });
      return 0;
    }
    const { init } = created;
    const exited = new Promise<ExitStatus | null>((resolve) => nativeOps.watchExit(init.pidfd, true, resolve));
    const forward = (sig: NodeJS.Signals): void => {
      try {
        nativeOps.pidfdSendSignal(init.pidfd, require('node:os').constants.signals[sig]);
      } catch {
        // already exited
      }
    };
    for (const s of FORWARDED) if (!(relay && s === 'SIGWINCH')) process.on(s, forward);
    try {
      relay?.attach('run');
      await startContainer({ root: options.root, id: options.id, warn: (m) => ctx.log.warn(m) });
    } catch (e) {
      relay?.close();
      await deleteContainer({ root: options.root, id: options.id, force: true, configPath: options.configPath });
      throw e;
    }
    ctx.log.debug(`${options.id}: started`);
    const status = await exited;
    await relay?.finish();
    ctx.log.debug(`${options.id}: exited ${JSON.stringify(status)}`);
    for (const s of FORWARDED) process.off(s, forward);
    closeQuietly(init.pidfd);
    if (!flagBool(ctx.args, 'keep')) await deleteContainer({ root: options.root, id: options.id, force: true, warn: (m) => ctx.log.warn(m), configPath: options.configPath });
    ctx.log.debug(`${options.id}: deleted`);
    if (!status) return 255;
    return status.code ?? 128 + (status.signal ?? 0);
  },
};
