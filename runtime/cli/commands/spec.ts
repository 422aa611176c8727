import * as fs from 'node:fs';
import * as path from 'node:path';
import { flagBool, flagString } from '../args';
import type { Command } from '../command';
import { HutchError } from '../../errors';
import { defaultSpec, toRootless } from '../../spec/default-spec';

export const command: Command = {
  name: 'spec',
  summary: 'write a new config.json template (runc\'s) in the bundle',
  usage: '',
  flags: [
    { name: 'bundle', short: 'b', type: 'string', help: 'path to the root of the bundle directory' },
    { name: 'rootless', type: 'bool', help: 'generate a configuration for a rootless container' },
  ],
  async run(ctx) {
    const bundle = flagString(ctx.args, 'bundle') ?? '.';
    const file = path.join(bundle, 'config.json');
    let spec = defaultSpec();
    if (flagBool(ctx.args, 'rootless')) spec = toRootless(spec, process.geteuid?.() ?? 0, process.getegid?.() ?? 0);
    try {
      fs.writeFileSync(file, `${JSON.stringify(spec, null, '\t')}\n`, { flag: 'wx', mode: 0o666 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'EEXIST') throw new HutchError('spec', `File ${file} exists. Remove it first`, { kind: 'already-exists', errno: 'EEXIST' });
      throw new HutchError('spec', `--bundle: write ${file}: ${err.message}`, { errno: err.code, field: '--bundle' });
    }
  },
};
