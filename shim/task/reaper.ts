/**
 * The shim is the child subreaper: processes orphaned inside containers without a pid
 * namespace of their own are re-parented to it. Tracked processes are reaped through
 * their pidfds; this reaps the others, by listing our children a moment after a
 * SIGCHLD — late enough that Node's child_process (hooks, iptables, CNI) has reaped its
 * own, since libuv never reports an exit it could not reap itself.
 */
import * as fs from 'node:fs';
import { native } from '../../addon';
import { closeQuietly } from '../../runtime/launch/sync-channel';
import { procStat } from '../../runtime/state/proc';

function childrenOfThisProcess(): number[] {
  const out: number[] = [];
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      for (const p of fs.readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ')) if (p.trim()) out.push(Number(p));
    } catch {
      // thread gone
    }
  }
  return out;
}

export function startOrphanReaper(isTracked: (pid: number) => boolean): () => void {
  const nativeOps = native();
  const reap = (): void => {
    for (const pid of childrenOfThisProcess()) {
      if (isTracked(pid) || procStat(pid)?.state !== 'Z') continue;
      try {
        const fd = nativeOps.pidfdOpen(pid);
        try {
          nativeOps.reap(fd, false);
        } finally {
          closeQuietly(fd);
        }
      } catch {
        // reaped meanwhile
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const onChild = (): void => {
    timer ??= setTimeout(() => {
      timer = undefined;
      reap();
    }, 500).unref();
  };
  process.on('SIGCHLD', onChild);
  return () => {
    process.off('SIGCHLD', onChild);
    if (timer) clearTimeout(timer);
  };
}
