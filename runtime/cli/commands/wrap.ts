/** `hutch wrap -- RUNTIME ARGS…`: hutch's injectors in front of another OCI runtime (runtime/wrap.ts). */
import type { Command } from '../command';
import { HutchError } from '../../errors';
import { injectBundle, parseRuntimeArgs, reportToRuntimeLog, runRuntime } from '../../wrap';

export const command: Command = {
  name: 'wrap',
  summary: "apply hutch's spec injectors to a bundle, then run another OCI runtime (e.g. runc) with the same arguments",
  usage: '-- <runtime> [runtime arguments...]',
  flags: [],
  stopAtPositional: true,
  async run(ctx) {
    const [runtime, ...args] = ctx.args.positionals;
    if (!runtime) throw new HutchError('wrap', 'no runtime given (usage: hutch wrap -- runc [arguments...])', { kind: 'invalid-argument' });
    const inv = parseRuntimeArgs(args);
    try {
      await injectBundle(inv, ctx.globals.config, { debug: ctx.log.debug, info: ctx.log.info, warn: ctx.log.warn });
    } catch (e) {
      reportToRuntimeLog(inv, e instanceof Error ? e.message : String(e));
      throw e;
    }
    return runRuntime(runtime, args, inv.preserveFds);
  },
};
