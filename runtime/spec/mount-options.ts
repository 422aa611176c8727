/**
 * config.json mount options → mount(2) flags, propagation, recursive attributes
 * (mount_setattr) and the remaining filesystem data string — runc's table.
 */
export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  POSIXACL: 0x10000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  I_VERSION: 0x800000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

export const MOUNT_ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  ATIME_MASK: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  NOSYMFOLLOW: 0x200000,
} as const;

/** option → [clear?, flag]: clear means the option removes the flag ("rw" clears MS_RDONLY). */
const FLAGS: Record<string, [boolean, number]> = {
  async: [true, MS.SYNCHRONOUS],
  atime: [true, MS.NOATIME],
  bind: [false, MS.BIND],
  defaults: [false, 0],
  dev: [true, MS.NODEV],
  diratime: [true, MS.NODIRATIME],
  dirsync: [false, MS.DIRSYNC],
  exec: [true, MS.NOEXEC],
  iversion: [false, MS.I_VERSION],
  lazytime: [false, MS.LAZYTIME],
  loud: [true, MS.SILENT],
  mand: [false, MS.MANDLOCK],
  noatime: [false, MS.NOATIME],
  nodev: [false, MS.NODEV],
  nodiratime: [false, MS.NODIRATIME],
  noexec: [false, MS.NOEXEC],
  noiversion: [true, MS.I_VERSION],
  nolazytime: [true, MS.LAZYTIME],
  nomand: [true, MS.MANDLOCK],
  norelatime: [true, MS.RELATIME],
  nostrictatime: [true, MS.STRICTATIME],
  nosuid: [false, MS.NOSUID],
  nosymfollow: [false, MS.NOSYMFOLLOW],
  rbind: [false, MS.BIND | MS.REC],
  relatime: [false, MS.RELATIME],
  remount: [false, MS.REMOUNT],
  ro: [false, MS.RDONLY],
  rw: [true, MS.RDONLY],
  silent: [false, MS.SILENT],
  strictatime: [false, MS.STRICTATIME],
  suid: [true, MS.NOSUID],
  symfollow: [true, MS.NOSYMFOLLOW],
  sync: [false, MS.SYNCHRONOUS],
};

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** Recursive attributes (runtime-spec 1.1): option → [clear?, attribute]. */
const RECURSIVE: Record<string, [boolean, number]> = {
  rro: [false, MOUNT_ATTR.RDONLY],
  rrw: [true, MOUNT_ATTR.RDONLY],
  rnosuid: [false, MOUNT_ATTR.NOSUID],
  rsuid: [true, MOUNT_ATTR.NOSUID],
  rnodev: [false, MOUNT_ATTR.NODEV],
  rdev: [true, MOUNT_ATTR.NODEV],
  rnoexec: [false, MOUNT_ATTR.NOEXEC],
  rexec: [true, MOUNT_ATTR.NOEXEC],
  rnodiratime: [false, MOUNT_ATTR.NODIRATIME],
  rdiratime: [true, MOUNT_ATTR.NODIRATIME],
  rnosymfollow: [false, MOUNT_ATTR.NOSYMFOLLOW],
  rsymfollow: [true, MOUNT_ATTR.NOSYMFOLLOW],
};

/** The atime family sets a 3-value field, so it clears the whole field first. */
const RECURSIVE_ATIME: Record<string, number> = {
  rrelatime: MOUNT_ATTR.RELATIME,
  rnorelatime: MOUNT_ATTR.RELATIME, // there is no "not relatime" value: runc treats it as relatime's clear
  rnoatime: MOUNT_ATTR.NOATIME,
  ratime: MOUNT_ATTR.RELATIME,
  rstrictatime: MOUNT_ATTR.STRICTATIME,
  rnostrictatime: MOUNT_ATTR.RELATIME,
};

export interface ParsedMountOptions {
  flags: number;
  propagation: number;
  attrSet: number;
  attrClr: number;
  /** options for the filesystem itself, in order */
  data: string[];
  tmpcopyup: boolean;
  idmap: boolean;
}

export function parseMountOptions(options: string[] | undefined): ParsedMountOptions {
  const out: ParsedMountOptions = { flags: 0, propagation: 0, attrSet: 0, attrClr: 0, data: [], tmpcopyup: false, idmap: false };
  for (const o of options ?? []) {
    const flag = FLAGS[o];
    if (flag) {
      out.flags = flag[0] ? out.flags & ~flag[1] : out.flags | flag[1];
      continue;
    }
    if (o in PROPAGATION) {
      out.propagation = PROPAGATION[o];
      continue;
    }
    const rec = RECURSIVE[o];
    if (rec) {
      if (rec[0]) {
        out.attrClr |= rec[1];
        out.attrSet &= ~rec[1];
      } else {
        out.attrSet |= rec[1];
        out.attrClr &= ~rec[1];
      }
      continue;
    }
    if (o in RECURSIVE_ATIME) {
      out.attrClr |= MOUNT_ATTR.ATIME_MASK;
      out.attrSet = (out.attrSet & ~MOUNT_ATTR.ATIME_MASK) | RECURSIVE_ATIME[o];
      continue;
    }
    if (o === 'tmpcopyup') out.tmpcopyup = true;
    else if (o === 'idmap' || o === 'ridmap') out.idmap = true;
    else out.data.push(o);
  }
  return out;
}

/** Every option name hutch understands (for `hutch features`). */
export function knownMountOptions(): string[] {
  return [...Object.keys(FLAGS), ...Object.keys(PROPAGATION), ...Object.keys(RECURSIVE), ...Object.keys(RECURSIVE_ATIME), 'tmpcopyup'].sort();
}

/** rootfsPropagation values. */
export function rootfsPropagationFlags(value: string): number | undefined {
  return PROPAGATION[value];
}
