/**
 * The image config's `User` ("", "uid", "uid:gid", "name", "name:group", …) resolved
 * against the image's own /etc/passwd and /etc/group, as containerd's WithUser does:
 * a numeric uid missing from passwd gets gid 0; a name missing is an error;
 * additional gids are the groups that list the user by name.
 */
import { HutchError } from '../../runtime/errors';
import type { User } from '../../runtime/spec/types';
import { readFileInRoot } from './in-root';

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

function parsePasswd(text: string | null): PasswdEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 4 && /^\d+$/.test(f[2]) && /^\d+$/.test(f[3]))
    .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]) }));
}

function parseGroup(text: string | null): GroupEntry[] {
  return (text ?? '')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[2]))
    .map((f) => ({ name: f[0], gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

const NUMERIC = /^\d+$/;

export function resolveImageUser(rootfs: string, spec: string | undefined): User {
  const value = (spec ?? '').trim();
  if (!value) return { uid: 0, gid: 0 };
  const [userPart, groupPart] = value.split(':', 2);
  const passwd = parsePasswd(readFileInRoot(rootfs, '/etc/passwd'));
  const groups = parseGroup(readFileInRoot(rootfs, '/etc/group'));
  let uid: number;
  let gid: number;
  let name: string | undefined;
  if (NUMERIC.test(userPart)) {
    uid = Number(userPart);
    const entry = passwd.find((p) => p.uid === uid);
    gid = entry?.gid ?? 0;
    name = entry?.name;
  } else {
    const entry = passwd.find((p) => p.name === userPart);
    if (!entry) throw new HutchError('bundle', `image config User "${value}": no user "${userPart}" in the image's /etc/passwd`, { kind: 'invalid-argument', field: 'config.User' });
    uid = entry.uid;
    gid = entry.gid;
    name = entry.name;
  }
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) gid = Number(groupPart);
    else {
      const g = groups.find((x) => x.name === groupPart);
      if (!g) throw new HutchError('bundle', `image config User "${value}": no group "${groupPart}" in the image's /etc/group`, { kind: 'invalid-argument', field: 'config.User' });
      gid = g.gid;
    }
  }
  const user: User = { uid, gid };
  if (name && (groupPart === undefined || groupPart === '')) {
    const extra = groups.filter((g) => g.members.includes(name!) && g.gid !== gid).map((g) => g.gid);
    if (extra.length) user.additionalGids = extra;
  }
  return user;
}
