/** `hutch image ls [-q] [--format json]` */
import { flagBool, flagString } from '../args';
import type { Command } from '../command';
import { print, printJson } from '../output';
import { IMAGE_ROOT_FLAG, imageService } from './image-flags';

function size(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export const command: Command = {
  name: 'ls',
  summary: 'list images',
  usage: '',
  flags: [{ name: 'quiet', short: 'q', type: 'bool', help: 'names only' }, { name: 'format', type: 'string', help: 'table (default) or json' }, IMAGE_ROOT_FLAG],
  async run(ctx) {
    const images = await imageService(ctx.args, ctx.globals.config).list();
    if (flagBool(ctx.args, 'quiet')) return void (images.length && print(images.map((i) => i.name).join('\n')));
    if (flagString(ctx.args, 'format') === 'json') return void printJson(images);
    const rows = [['NAME', 'DIGEST', 'SIZE', 'UNPACKED', 'CREATED']];
    for (const i of images) rows.push([i.name, i.target.digest, size(i.layers.reduce((s, l) => s + l.size, 0)), i.unpacked.join(',') || '-', i.created]);
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    print(rows.map((r) => r.map((v, c) => v.padEnd(widths[c])).join('  ').trimEnd()).join('\n'));
  },
};
