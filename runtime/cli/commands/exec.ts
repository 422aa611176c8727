/**
 * `exec`: runs a process in a container, with runc's flags. Detached (-d) it returns
 * once the program has started (pid file written); in the foreground it relays
 * signals (and the terminal, with --tty) and exits with the program's status. Bad
 * input exits 1; a process that could not be started exits 255, as with runc.
 */
import * as os from 'node:os';
import { native, type ExitStatus } from '../../../addon';
import { flagBool, flagInt, flagList, flagString, type ParsedArgs } from '../args';
import { requireId, type Command } from '../command';
import { execInContainer, ExecLaunchError } from '../../lifecycle/exec';
import { execProcessSpec, type ExecFlags } from '../../exec/process-spec';
import { closeQuietly } from '../../launch/sync-channel';
import { ConsoleRelay } from '../../terminal/relay';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

function optionalBool(args: ParsedArgs, name: string): boolean | undefined {
  return args.flags.has(name) ? flagBool(args, name) : undefined;
}

function execFlags(args: ParsedArgs): ExecFlags {
  return {
    processFile: flagString(args, 'process'),
    args: args.positionals.slice(1),
    tty: optionalBool(args, 'tty'),
    cwd: flagString(args, 'cwd'),
    env: flagList(args, 'env'),
    user: flagString(args, 'user'),
    additionalGids: flagList(args, 'additional-gids'),
    caps: flagList(args, 'cap'),
    noNewPrivs: optionalBool(args, 'no-new-privs'),
  };
}

/**
 * Forwards our signals to the process. Installed before the process starts, so a
 * signal that arrives while it is being started is held and delivered once its pidfd
 * is known (a caller may signal us as soon as the program shows signs of life).
 */
class SignalForwarder {
  private pidfd?: number;
  private readonly held: NodeJS.Signals[] = [];
  private readonly forward = (sig: NodeJS.Signals): void => {
    if (this.pidfd === undefined) this.held.push(sig);
    else this.send(sig);
  };

  constructor() {
    for (const s of FORWARDED) process.on(s, this.forward);
  }

  attach(pidfd: number): void {
    this.pidfd = pidfd;
    for (const sig of this.held.splice(0)) this.send(sig);
  }

  close(): void {
    for (const s of FORWARDED) process.off(s, this.forward);
  }

  private send(sig: NodeJS.Signals): void {
    try {
      native().pidfdSendSignal(this.pidfd!, os.constants.signals[sig]);
    } catch {
      // already exited
    }
  }
}

/** Waits for the process (our child); 128+N when killed. */
async function waitForeground(pidfd: number): Promise<number> {
  const status = await new Promise<ExitStatus | null>((resolve) => native().watchExit(pidfd, true, resolve));
  closeQuietly(pidfd);
  if (!status) return 255;
  return status.code ?? 128 + (status.signal ?? 0);
}

export const command: Command = {
  name: 'exec',
  summary: 'execute a new process inside the container',
  usage: '<container-id> <command> [command options]  ||  -p process.json <container-id>',
  stopAtPositional: true,
  flags: [
    { name: 'console-socket', type: 'string', help: 'path to an AF_UNIX socket which will receive the pty master' },
    { name: 'cwd', type: 'string', help: 'current working directory in the container' },
    { name: 'env', short: 'e', type: 'list', help: 'set environment variables' },
    { name: 'tty', short: 't', type: 'bool', help: 'allocate a pseudo-TTY' },
    { name: 'user', short: 'u', type: 'string', help: 'UID (format: <uid>[:<gid>]) or user name[:group] of the container' },
    { name: 'additional-gids', short: 'g', type: 'list', help: 'additional gids' },
    { name: 'process', short: 'p', type: 'string', help: 'path to the process.json' },
    { name: 'detach', short: 'd', type: 'bool', help: 'detach from the container\'s process' },
    { name: 'pid-file', type: 'string', help: 'specify the file to write the process id to' },
    { name: 'process-label', type: 'string', help: 'set the SELinux process label (no SELinux here: ignored)', ignored: true },
    { name: 'apparmor', type: 'string', help: 'set the AppArmor profile (no AppArmor here: ignored)', ignored: true },
    { name: 'no-new-privs', type: 'bool', help: 'set the no new privileges value for the process' },
    { name: 'cap', short: 'c', type: 'list', help: 'add a capability to the bounding set for the process' },
    { name: 'preserve-fds', type: 'string', help: 'pass N additional file descriptors to the container (stdio + N)' },
    { name: 'cgroup', type: 'list', help: 'run the process in an (existing) sub-cgroup: [<controller>:]<cgroup>' },
    { name: 'ignore-paused', type: 'bool', help: 'allow exec in a paused container' },
  ],
  async run(ctx) {
    const id = requireId('exec', ctx);
    const flags = execFlags(ctx.args);
    const detach = flagBool(ctx.args, 'detach');
    const consoleSocket = flagString(ctx.args, 'console-socket');
    const nativeOps = native();
    // A foreground terminal is relayed by us: decided once the process is known.
    let relay: ConsoleRelay | undefined;
    const signals = detach ? undefined : new SignalForwarder();
    try {
      const proc = await execInContainer({
        root: ctx.globals.root,
        id,
        process: (record) => execProcessSpec('exec', record.spec.process!, flags),
        foregroundConsole: (p) => {
          relay = ConsoleRelay.open(nativeOps);
          const size = ConsoleRelay.hostSize(nativeOps);
          if (size) p.consoleSize = { height: size.rows, width: size.cols };
          return relay.childEnd;
        },
        detach,
        consoleSocket,
        pidFile: flagString(ctx.args, 'pid-file'),
        preserveFds: flagInt('exec', ctx.args, 'preserve-fds') ?? 0,
        subCgroups: flagList(ctx.args, 'cgroup'),
        ignorePaused: flagBool(ctx.args, 'ignore-paused'),
        debug: (m) => ctx.log.debug(m),
      });
      if (detach) {
        closeQuietly(proc.pidfd);
        return 0;
      }
      relay?.attach('exec');
      signals?.attach(proc.pidfd);
      const code = await waitForeground(proc.pidfd);
      signals?.close();
      await relay?.finish();
      return code;
    } catch (e) {
      relay?.close();
      signals?.close();
      if (e instanceof ExecLaunchError) {
        ctx.log.error(e.message);
        if (ctx.log.toFile) process.stderr.write(`${e.message}\n`);
        return 255;
      }
      throw e;
    }
  },
};
