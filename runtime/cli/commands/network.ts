/** `hutch network rm`: removes the configured bridge network (bridge, rules, allocations). */
import { commandGroup } from '../group';

export const command = commandGroup('network', 'manage the bridge network', {
  rm: () => require('./network-rm').command,
});
