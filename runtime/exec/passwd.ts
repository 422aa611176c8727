/**
 * Users and groups by name, from the container's own /etc/passwd and /etc/group
 * (`exec --user name[:group]`, HOME for the process), read from the host through
 * /proc/<init>/root with every path component resolved inside the container's root,
 * so a symlink planted in the container cannot point the lookup at a host file.
 */
import * as fs from 'node:fs';
import type { NativeOps } from '../../addon';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

/** A container file's text, or '' when it is missing or unreadable (no passwd is not an error). */
export function readInRoot(nativeOps: Pick<NativeOps, 'openInRoot'>, root: string, file: string): string {
  let fd: number;
  try {
    fd = nativeOps.openInRoot(root, file);
  } catch {
    return '';
  }
  try {
    // a FIFO or device planted at /etc/passwd must not hang or flood us: regular files only
    if (!fs.fstatSync(fd).isFile()) return '';
    return fs.readFileSync(fd, 'utf8').slice(0, 4 << 20);
  } catch {
    return '';
  } finally {
    fs.closeSync(fd);
  }
}

function isId(s: string): boolean {
  return /^\d+$/.test(s) && Number(s) < 2 ** 32;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || line.startsWith('#') || !isId(f[2]) || !isId(f[3])) continue;
    out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4 || line.startsWith('#') || !isId(f[2])) continue;
    out.push({ name: f[0], gid: Number(f[2]), members: f[3] ? f[3].split(',') : [] });
  }
  return out;
}

/** The lookups a container offers, loaded lazily (most execs name ids, not users). */
export class ContainerUsers {
  private passwd?: PasswdEntry[];
  private group?: GroupEntry[];

  constructor(
    private readonly nativeOps: Pick<NativeOps, 'openInRoot'>,
    private readonly root: string,
  ) {}

  users(): PasswdEntry[] {
    this.passwd ??= parsePasswd(readInRoot(this.nativeOps, this.root, '/etc/passwd'));
    return this.passwd;
  }

  groups(): GroupEntry[] {
    this.group ??= parseGroup(readInRoot(this.nativeOps, this.root, '/etc/group'));
    return this.group;
  }

  userByName(name: string): PasswdEntry | undefined {
    return this.users().find((u) => u.name === name);
  }

  userById(uid: number): PasswdEntry | undefined {
    return this.users().find((u) => u.uid === uid);
  }

  groupByName(name: string): GroupEntry | undefined {
    return this.groups().find((g) => g.name === name);
  }
}
