/**
 * OOM notifications without polling.
 *
 * - v1: an eventfd registered on memory.oom_control through cgroup.event_control (a
 *   native helper), watched on libuv. The kernel signals it on every OOM in the
 *   cgroup, and once more when the cgroup is removed — which is how we learn it is gone.
 * - v2: inotify (fs.watch) on memory.events, which the kernel marks modified when a
 *   counter changes; an OOM is an increase of `oom_kill`. The watch ends when the file
 *   goes away with the cgroup.
 *
 * Example:
 *   const w = watchOomV2('/sys/fs/cgroup/hutch/web', () => console.log('oom'), () => console.log('gone'));
 *   …
 *   w.dispose();
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { native } from '../../addon';
import type { Disposable } from './manager';

export function watchOomV1(memoryDir: string, onOom: () => void, onGone?: () => void): Disposable {
  const n = native();
  const fd = n.cgroupEventFd(path.join(memoryDir, 'cgroup.event_control'), path.join(memoryDir, 'memory.oom_control'));
  const counter = Buffer.alloc(8);
  let open = true;
  const dispose = (): void => {
    if (!open) return;
    open = false;
    watch.close();
    fs.closeSync(fd);
  };
  const watch = n.watchFd(fd, false, (status) => {
    if (!open) return;
    if (status < 0) {
      dispose();
      onGone?.();
      return;
    }
    try {
      fs.readSync(fd, counter, 0, 8, null);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return;
      throw e;
    }
    // the final signal comes with the removal of the cgroup
    if (!fs.existsSync(path.join(memoryDir, 'memory.oom_control'))) {
      dispose();
      onGone?.();
      return;
    }
    onOom();
  });
  return { dispose };
}

function oomKills(file: string): number | undefined {
  try {
    const m = /^oom_kill (\d+)$/m.exec(fs.readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return undefined;
  }
}

export function watchOomV2(dir: string, onOom: () => void, onGone?: () => void): Disposable {
  const file = path.join(dir, 'memory.events');
  let last = oomKills(file);
  if (last === undefined) throw Object.assign(new Error(`${file}: no such file (is the memory controller enabled?)`), { code: 'ENOENT', path: file });
  let open = true;
  const watchers: fs.FSWatcher[] = [];
  const dispose = (): void => {
    if (!open) return;
    open = false;
    for (const w of watchers) w.close();
  };
  const gone = (): void => {
    if (!open) return;
    dispose();
    onGone?.();
  };
  const events = fs.watch(file, { persistent: true }, () => {
    if (!open) return;
    const now = oomKills(file);
    if (now === undefined) return gone();
    if (last !== undefined && now > last) onOom();
    last = now;
  });
  events.on('error', gone);
  watchers.push(events);
  // kernfs tells a file's watchers of changes but not of its removal: the parent
  // directory's watch sees the rmdir of the cgroup
  const parent = fs.watch(path.dirname(dir), { persistent: true }, (_event, name) => {
    if (name === path.basename(dir) && !fs.existsSync(dir)) gone();
  });
  parent.on('error', () => undefined);
  watchers.push(parent);
  return { dispose };
}
