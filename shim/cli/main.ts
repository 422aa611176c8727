/**
 * containerd-shim-hutch-v2's JavaScript entry, run by the native launcher (bin/) when
 * it cannot answer itself. Actions: `start`, `delete`, or none (serve). The action
 * modules load on demand: `start` and `delete` must not pay for the server's.
 */
import { writeAllSync } from '../../runtime/log';
import { VERSION } from '../../runtime/version';
import { FlagError, parseShimFlags, usage, type ShimFlags } from './flags';

const PROGRAM = 'containerd-shim-hutch-v2';

function fail(message: string, code = 1): never {
  // containerd shows start's combined output in its error: one line
  writeAllSync(2, `${PROGRAM}: ${message}\n`);
  process.exit(code);
}

async function run(flags: ShimFlags): Promise<void> {
  switch (flags.action) {
    case 'start': {
      const { startAction } = await import('./start');
      // only the address, no newline (containerd trims, but other callers may not)
      writeAllSync(1, await startAction(flags));
      process.exit(0);
      break;
    }
    case 'delete': {
      const { deleteAction } = await import('./delete');
      writeAllSync(1, Buffer.from(await deleteAction(flags)));
      process.exit(0);
      break;
    }
    case '': {
      const { serve } = await import('./serve');
      await serve(flags);
      break;
    }
    default:
      fail(`unknown action "${flags.action}" (want start, delete, or none to serve)`, 2);
  }
}

export function main(argv: string[]): void {
  let flags: ShimFlags;
  try {
    flags = parseShimFlags(argv);
  } catch (e) {
    if (e instanceof FlagError) fail(`${e.message}\n${usage(PROGRAM)}`, 2);
    throw e;
  }
  if (flags.help) {
    writeAllSync(2, `${usage(PROGRAM)}\n`);
    process.exit(0);
  }
  if (flags.version) {
    writeAllSync(1, `${PROGRAM}:\n  Version:  ${VERSION}\n`);
    process.exit(0);
  }
  if (!flags.namespace) fail('shim namespace cannot be empty');
  run(flags).catch((e: Error) => fail(e.message));
}

if (require.main === module) main(process.argv.slice(2));
