/** `hutch image import|ls|inspect|rm` */
import { commandGroup } from '../group';

export const command = commandGroup('image', 'manage images: import archives, list, inspect, remove', {
  import: () => require('./image-import').command,
  ls: () => require('./image-ls').command,
  inspect: () => require('./image-inspect').command,
  rm: () => require('./image-rm').command,
});
