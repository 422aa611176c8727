/**
 * A command with sub-commands (`hutch image import …`, `hutch snapshotter serve …`):
 * the first positional picks the sub-command, which parses the rest with its own
 * flags. Sub-commands load on demand, like top-level ones.
 */
import { parseArgs } from './args';
import { commandHelp, type Command } from './command';
import { print } from './output';
import { HutchError } from '../errors';

export function commandGroup(name: string, summary: string, subs: Record<string, () => Command>): Command {
  const names = Object.keys(subs);
  return {
    name,
    summary: `${summary} (${names.join(', ')})`,
    usage: `<${names.join('|')}> [arguments...]`,
    flags: [],
    stopAtPositional: true,
    async run(ctx) {
      const [sub, ...rest] = ctx.args.positionals;
      const load = sub ? subs[sub] : undefined;
      if (!load) {
        throw new HutchError(name, sub ? `unknown command "${name} ${sub}" (want ${names.join(', ')})` : `"${name}" needs a command: ${names.join(', ')}`, {
          kind: 'invalid-argument',
        });
      }
      const command = load();
      if (rest.includes('--help') || rest.includes('-h')) {
        print(commandHelp(`${name} ${command.name}`, command));
        return 0;
      }
      const args = parseArgs(`${name} ${command.name}`, rest, command.flags, command.stopAtPositional);
      return command.run({ ...ctx, args });
    },
  };
}
