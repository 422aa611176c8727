/**
 * `hutch snapshotter serve --address SOCK [--root DIR] [--snapshotter overlayfs|native]`:
 * containerd's proxy snapshotter over gRPC until SIGTERM/SIGINT.
 */
import { flagString } from '../args';
import type { Command } from '../command';
import { distRequire } from '../../dist-require';
import { HutchError } from '../../errors';

/** Apart from the image store's snapshots, so containerd's GC and ours never meet. */
export const DEFAULT_PROXY_ROOT = '/var/lib/hutch/containerd-snapshots';

export const command: Command = {
  name: 'serve',
  summary: "serve a snapshotter to containerd (proxy_plugins) over gRPC on a unix socket",
  usage: '--address <socket>',
  flags: [
    { name: 'address', short: 'a', type: 'string', help: 'unix socket path to listen on' },
    { name: 'root', type: 'string', help: `snapshotter state directory (default ${DEFAULT_PROXY_ROOT}/<snapshotter>)` },
    { name: 'snapshotter', type: 'string', help: 'overlayfs (default) or native' },
  ],
  async run(ctx) {
    const address = flagString(ctx.args, 'address');
    if (!address) throw new HutchError('snapshotter serve', '--address is required (the socket containerd dials)', { kind: 'invalid-argument', field: '--address' });
    const name = flagString(ctx.args, 'snapshotter') ?? 'overlayfs';
    const { openSnapshotter } = distRequire<typeof import('../../../plugins/snapshotter/registry')>('plugins/snapshotter/registry');
    const { serveSnapshotter } = distRequire<typeof import('../../../plugins/snapshotter/proxy/server')>('plugins/snapshotter/proxy/server');
    const snapshotter = openSnapshotter(name, flagString(ctx.args, 'root') ?? `${DEFAULT_PROXY_ROOT}/${name}`);
    const server = await serveSnapshotter({ address, snapshotter, log: ctx.globals.debug ? (m) => ctx.log.debug(m) : undefined });
    ctx.log.info(`serving snapshotter ${name} (${snapshotter.root}) on ${server.address}`);
    await new Promise<void>((resolve) => {
      const stop = (): void => void server.close().then(resolve);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
  },
};
