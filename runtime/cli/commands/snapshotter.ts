/** `hutch snapshotter serve` */
import { commandGroup } from '../group';

export const command = commandGroup('snapshotter', 'snapshotter services', {
  serve: () => require('./snapshotter-serve').command,
});
