/**
 * `hutch cdi generate`: a CDI spec for this host's NVIDIA GPUs (plugins/gpu/cdi-generate.ts).
 * `hutch cdi list`: the CDI devices the configured spec directories define.
 */
import * as fs from 'node:fs';
import type { Command } from '../command';
import { flagString } from '../args';
import { HutchError } from '../../errors';
import { print } from '../output';
import { loadConfig, settingsFor } from '../../../plugins/config';
import type { CdiSettings, GpuSettings } from '../../../plugins/injectors/settings';
import { SettingsReader } from '../../../plugins/settings';

function generate(ctx: Parameters<Command['run']>[0]): void {
  const { discoverGpus } = require('../../../plugins/gpu/discover') as typeof import('../../../plugins/gpu/discover');
  const { generateCdiSpec } = require('../../../plugins/gpu/cdi-generate') as typeof import('../../../plugins/gpu/cdi-generate');
  const config = loadConfig(ctx.globals.config);
  const settings = { ...(settingsFor(config, 'injector', 'gpu') as GpuSettings) };
  const at = new SettingsReader('', '');
  settings.driverRoot = at.child('--driver-root').absolutePath(flagString(ctx.args, 'driver-root'), settings.driverRoot);
  settings.devRoot = at.child('--dev-root').absolutePath(flagString(ctx.args, 'dev-root'), settings.devRoot);
  settings.procRoot = at.child('--proc-root').absolutePath(flagString(ctx.args, 'proc-root'), settings.procRoot);
  const nameBy = at.child('--device-name-strategy').oneOf(flagString(ctx.args, 'device-name-strategy'), ['index', 'uuid'] as const, 'index');
  const format = at.child('--format').oneOf(flagString(ctx.args, 'format'), ['yaml', 'json'] as const, 'yaml');
  const found = discoverGpus(settings, ['utility', 'compute', 'video', 'graphics', 'display', 'ngx']);
  if (!found.controlDevices.some((d) => d.containerPath === '/dev/nvidiactl')) {
    throw new HutchError('cdi generate', `no NVIDIA driver found (${settings.devRoot}/nvidiactl does not exist)`, { kind: 'failed-precondition' });
  }
  const spec = generateCdiSpec(found, settings, { nameBy });
  const text = format === 'json' ? `${JSON.stringify(spec, null, 2)}\n` : (require('yaml') as typeof import('yaml')).stringify(spec);
  const output = flagString(ctx.args, 'output');
  if (output) fs.writeFileSync(output, text);
  else print(text);
}

function list(ctx: Parameters<Command['run']>[0]): void {
  const { readCdiDirs } = require('../../../plugins/injectors/cdi/cache') as typeof import('../../../plugins/injectors/cdi/cache');
  const settings = settingsFor(loadConfig(ctx.globals.config), 'injector', 'cdi') as CdiSettings;
  const cache = readCdiDirs(settings.specDirs);
  const lines = [...cache.devices.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, e]) => `${name}\t${e.file}`);
  for (const [name, files] of cache.conflicts) lines.push(`${name}\tCONFLICT: ${files.join(', ')}`);
  for (const { error } of cache.invalid) ctx.log.warn(`invalid CDI spec file: ${error.message}`);
  if (lines.length) print(lines.join('\n'));
}

export const command: Command = {
  name: 'cdi',
  summary: 'Container Device Interface: "generate" a spec for the NVIDIA GPUs here, or "list" the devices CDI specs define',
  usage: 'generate|list',
  flags: [
    { name: 'output', short: 'o', type: 'string', help: 'generate: write the spec to this file (default stdout)' },
    { name: 'format', type: 'string', help: 'generate: yaml (default) or json' },
    { name: 'device-name-strategy', type: 'string', help: 'generate: name GPUs by index (default) or uuid' },
    { name: 'driver-root', type: 'string', help: 'generate: root of the driver files (default: configuration, else /)' },
    { name: 'dev-root', type: 'string', help: 'generate: directory of the device nodes (default: configuration, else /dev)' },
    { name: 'proc-root', type: 'string', help: 'generate: procfs to read GPU UUIDs from (default: configuration, else /proc)' },
  ],
  async run(ctx) {
    const sub = ctx.args.positionals[0];
    if (sub === 'generate') generate(ctx);
    else if (sub === 'list') list(ctx);
    else throw new HutchError('cdi', `unknown subcommand "${sub ?? ''}" (usage: hutch cdi generate|list)`, { kind: 'invalid-argument' });
  },
};
