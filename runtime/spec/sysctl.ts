/**
 * Which sysctls a container may set: only those its own namespaces scope (runc's
 * rules). Anything else would change the host.
 */
import type { Checker } from './check';
import type { NamespaceType } from './types';

const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

export function checkSysctls(c: Checker, sysctls: Record<string, string>, namespaces: Map<NamespaceType, string | undefined>): void {
  for (const key of Object.keys(sysctls)) {
    const field = `linux.sysctl.${key}`;
    const k = key.replace(/\//g, '.');
    if (IPC_SYSCTLS.has(k) || k.startsWith('fs.mqueue.')) {
      if (!namespaces.has('ipc')) c.fail(field, `sysctl "${key}" is not allowed in the host's ipc namespace`);
    } else if (k.startsWith('net.')) {
      if (!namespaces.has('network')) c.fail(field, `sysctl "${key}" is not allowed in the host's network namespace`);
    } else if (k === 'kernel.hostname' || k === 'kernel.domainname') {
      if (!namespaces.has('uts')) c.fail(field, `sysctl "${key}" is not allowed in the host's uts namespace`);
    } else {
      c.fail(field, `sysctl "${key}" is not in a separate kernel namespace`);
    }
  }
}

/** "net.ipv4.ip_forward" → "net/ipv4/ip_forward" (a key may also use slashes already). */
export function sysctlPath(key: string): string {
  return key.includes('/') ? key : key.replace(/\./g, '/');
}
