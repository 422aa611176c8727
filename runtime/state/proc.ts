/** Facts about a host process from /proc: its start time (pid-reuse guard) and state. */
import * as fs from 'node:fs';

export interface ProcStat {
  /** single-letter state: R, S, D, Z, T, ... */
  state: string;
  /** field 22, start time in clock ticks since boot */
  startTime: string;
}

export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may contain spaces and parentheses: split after the last ')'
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0], startTime: rest[19] };
}

/** True when `pid` is the same live (not zombie) process that had `startTime`. */
export function isSameLiveProcess(pid: number, startTime: string): boolean {
  if (pid <= 0) return false;
  const st = procStat(pid);
  return !!st && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}

/** The pid a host process has in its own (innermost) pid namespace: the last NSpid field. */
export function pidInNamespace(pid: number): number {
  try {
    const m = /^NSpid:\s*(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    const ids = m ? m[1].trim().split(/\s+/) : [];
    return ids.length ? Number(ids[ids.length - 1]) : pid;
  } catch {
    return pid;
  }
}
