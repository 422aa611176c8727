/** Where the shim keeps runtime state: /run/hutch/<containerd namespace> (HUTCH_SHIM_ROOT moves /run/hutch, for tests). */
import * as path from 'node:path';

export function stateRoot(namespace: string): string {
  return path.join(process.env.HUTCH_SHIM_ROOT || '/run/hutch', namespace);
}
