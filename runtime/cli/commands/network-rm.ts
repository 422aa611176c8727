import { flagBool } from '../args';
import type { Command } from '../command';
import { loadConfig } from '../../../plugins/config';
import { BridgePlugin } from '../../../plugins/network/bridge/plugin';
import { networkConfigOf } from '../../../plugins/network/select';
import { print } from '../output';

export const command: Command = {
  name: 'rm',
  summary: "remove the bridge network of hutch's configuration (--config): the bridge, its iptables rules and its address pool",
  usage: '',
  flags: [{ name: 'force', short: 'f', type: 'bool', help: 'tear down the containers still on it first' }],
  async run(ctx) {
    const plugin = new BridgePlugin(networkConfigOf(loadConfig(ctx.globals.config)).bridge);
    await plugin.removeNetwork({ force: flagBool(ctx.args, 'force') });
    print(plugin.config.name);
  },
};
