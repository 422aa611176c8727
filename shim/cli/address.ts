/**
 * Where a container's shim listens, as containerd's runc shim decides it: one socket
 * per (containerd address, namespace, group), named by the sha256 of
 * "<address>/<namespace>/<group>" in /run/containerd/s. The native launcher
 * (addon/launcher/) derives the same path; the two must stay in step.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';

import type { ShimGrouping } from '../../plugins/config';

/** The runc shim's socket directory; HUTCH_SHIM_SOCKET_DIR overrides it (tests). */
export function socketDir(): string {
  return process.env.HUTCH_SHIM_SOCKET_DIR || '/run/containerd/s';
}

/** The annotations that put containers in one group, in the order they are tried. */
export const GROUP_ANNOTATIONS = ['io.containerd.runc.v2.group', 'io.kubernetes.cri.sandbox-id'] as const;

/**
 * The group a container belongs to under a grouping policy (plugins/config.ts):
 * `container` its own id; `namespace` "" (the socket is then named by
 * "<address>/<namespace>" alone); `pod` its config.json annotation, else its own id;
 * `auto` (the default) its annotation, else the namespace: a Kubernetes pod gets a shim
 * of its own, plain containers (ctr) share one per namespace.
 */
export function groupOf(id: string, bundle: string, grouping: ShimGrouping = 'auto'): string {
  if (grouping === 'container') return id;
  if (grouping === 'namespace') return '';
  let annotations: Record<string, unknown> = {};
  try {
    const spec = JSON.parse(fs.readFileSync(path.join(bundle, 'config.json'), 'utf8')) as { annotations?: Record<string, unknown> };
    annotations = spec.annotations ?? {};
  } catch {
    // no readable spec: the container is its own group, as with the runc shim
  }
  for (const key of GROUP_ANNOTATIONS) {
    const value = annotations[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return grouping === 'auto' ? '' : id;
}

/**
 * Go's filepath.Join: the non-empty parts joined and cleaned. path.posix.join cleans
 * alike except that it keeps a trailing slash, which Go drops.
 */
export function goJoin(...parts: string[]): string {
  const joined = path.posix.join(...parts);
  return joined.length > 1 && joined.endsWith('/') ? joined.replace(/\/+$/, '') || '/' : joined;
}

/** The socket path for a group. */
export function socketPathFor(containerdAddress: string, namespace: string, group: string): string {
  const digest = crypto.createHash('sha256').update(goJoin(containerdAddress, namespace, group)).digest('hex');
  return path.join(socketDir(), digest);
}

export function addressOf(socketPath: string): string {
  return `unix://${socketPath}`;
}

/** Writes `<bundle>/address` atomically (temp file + rename), as containerd reads it after a restart. */
export function writeAddressFile(bundle: string, address: string): void {
  const tmp = path.join(bundle, '.address');
  fs.writeFileSync(tmp, address, { mode: 0o644 });
  fs.renameSync(tmp, path.join(bundle, 'address'));
}

export function readAddressFile(bundle: string): string | undefined {
  try {
    return fs.readFileSync(path.join(bundle, 'address'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/** True when something accepts connections on the socket (a live shim). */
export function canConnect(socketPath: string, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createConnection({ path: socketPath });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
}
