/**
 * Cached ADD results, in libcni's format and place
 * (`<cacheDir>/results/<network>-<containerId>-<ifName>`, kind "cniCacheV1"), so DEL
 * and CHECK get the prevResult the spec asks for, and tools built on libcni see our
 * attachments.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeAtomic } from '../atomic-file';

export interface CachedAttachment {
  kind: 'cniCacheV1';
  containerId: string;
  /** base64 of the configuration list as used for ADD */
  config: string;
  ifName: string;
  networkName: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  result: Record<string, unknown>;
  /** hutch's addition: the namespace's st_dev:st_ino, to tell a reused /proc/<pid> path */
  netns?: string;
}

export function cachePath(cacheDir: string, network: string, containerId: string, ifName: string): string {
  return path.join(cacheDir, 'results', `${network}-${containerId}-${ifName}`);
}

export function readCache(file: string): CachedAttachment | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(file, 'utf8')) as CachedAttachment;
    return c.kind === 'cniCacheV1' ? c : undefined;
  } catch {
    return undefined;
  }
}

export function writeCache(file: string, c: CachedAttachment): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeAtomic(file, JSON.stringify(c));
}

export function removeCache(file: string): void {
  fs.rmSync(file, { force: true });
}
