/** Where the shim keeps runtime state: /run/hutch/<containerd namespace> (HUTCH_SHIM_ROOT moves /run/hutch, for tests). */
import * as path from 'node:path';

/** The directory above the namespaces' state (the launcher's grouping note lives here too). */
export function shimRootDir(): string {
  return process.env.HUTCH_SHIM_ROOT || '/run/hutch';
}

export function stateRoot(namespace: string): string {
  return path.join(shimRootDir(), namespace);
}
