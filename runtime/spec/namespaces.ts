/** Namespace types of config.json and their CLONE_NEW* flags. */
import type { NamespaceType } from './types';

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWTIME = 0x00000080;

export const NAMESPACE_FLAGS: Record<NamespaceType, number> = {
  mount: CLONE_NEWNS,
  cgroup: CLONE_NEWCGROUP,
  uts: CLONE_NEWUTS,
  ipc: CLONE_NEWIPC,
  user: CLONE_NEWUSER,
  pid: CLONE_NEWPID,
  network: CLONE_NEWNET,
  time: CLONE_NEWTIME,
};

/** /proc/<pid>/ns/<name> for each type. */
export const NAMESPACE_PROC_NAME: Record<NamespaceType, string> = {
  mount: 'mnt',
  cgroup: 'cgroup',
  uts: 'uts',
  ipc: 'ipc',
  user: 'user',
  pid: 'pid',
  network: 'net',
  time: 'time',
};
