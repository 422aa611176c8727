/**
 * Device nodes and /dev links for a container, as runc makes them: when /dev is not
 * bind mounted from the host, the default nodes (null, zero, full, random, urandom,
 * tty) plus linux.devices (overriding defaults with the same path), and the usual
 * links (/dev/fd, stdio, ptmx → pts/ptmx, core).
 */
import * as fs from 'node:fs';
import { MountKind, type PlanDevice, type PlanMount } from '../../addon/plan';
import type { Device, Spec } from '../spec/types';

const S_IFIFO = 0o010000;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;

const DEFAULT_DEVICES: Device[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0 },
];

function typeBits(type: string): number {
  if (type === 'b') return S_IFBLK;
  if (type === 'p') return S_IFIFO;
  return S_IFCHR; // 'c' and 'u' (unbuffered character device)
}

function planDevice(d: Device): PlanDevice {
  return {
    path: d.path,
    type: typeBits(d.type),
    major: d.major ?? 0,
    minor: d.minor ?? 0,
    mode: d.fileMode ?? 0o666,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
  };
}

/** /dev comes from the host (a bind mount): then runc leaves it alone. */
export function devIsBindMounted(spec: Spec): boolean {
  return (spec.mounts ?? []).some(
    (m) => m.destination.replace(/\/+$/, '') === '/dev' && (m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind')),
  );
}

export function planDevices(spec: Spec): PlanDevice[] {
  const own = spec.linux?.devices ?? [];
  if (devIsBindMounted(spec)) return own.map(planDevice);
  const paths = new Set(own.map((d) => d.path));
  return [...DEFAULT_DEVICES.filter((d) => !paths.has(d.path)), ...own].map(planDevice);
}

function symlink(target: string, linkText: string): PlanMount {
  return { kind: MountKind.Symlink, source: linkText, target, flags: 0, propagation: 0, attrSet: 0, attrClr: 0, remountLate: false };
}

export function devLinks(spec: Spec): PlanMount[] {
  if (devIsBindMounted(spec)) return [];
  const links = [
    symlink('/dev/fd', '/proc/self/fd'),
    symlink('/dev/stdin', '/proc/self/fd/0'),
    symlink('/dev/stdout', '/proc/self/fd/1'),
    symlink('/dev/stderr', '/proc/self/fd/2'),
    symlink('/dev/ptmx', 'pts/ptmx'),
  ];
  if (fs.existsSync('/proc/kcore')) links.push(symlink('/dev/core', '/proc/kcore'));
  return links;
}
