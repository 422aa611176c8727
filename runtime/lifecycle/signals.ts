/** Signal names and numbers as runc accepts them: 9, KILL, SIGKILL, sigkill. */
import * as os from 'node:os';
import { HutchError } from '../errors';

export function parseSignal(op: string, value: string | undefined): number {
  if (value === undefined || value === '') return os.constants.signals.SIGTERM;
  if (/^\d+$/.test(value)) {
    const n = Number(value);
    if (n > 0 && n <= 64) return n;
  } else {
    const name = value.toUpperCase().startsWith('SIG') ? value.toUpperCase() : `SIG${value.toUpperCase()}`;
    const n = (os.constants.signals as Record<string, number>)[name];
    if (n !== undefined) return n;
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name) ?? /^SIGRTMAX(?:-(\d+))?$/.exec(name);
    if (rt) return name.startsWith('SIGRTMIN') ? 34 + Number(rt[1] ?? 0) : 64 - Number(rt[1] ?? 0);
  }
  throw new HutchError(op, `unknown signal "${value}"`, { kind: 'invalid-argument', field: 'signal' });
}
