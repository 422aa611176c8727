/** Starting an exec'd process for the task service (runtime/lifecycle/exec in-process). */
import type { Logger } from 'pino';
import type { Process } from '../../runtime/spec/types';
import { Code, TtrpcError } from '../ttrpc/status';
import type { ShimContainer } from './container';
import type { ShimProcess } from './process';

export async function execProcess(_root: string, _c: ShimContainer, _p: ShimProcess, _spec: Process, _onExit: (p: ShimProcess) => void, _log: Logger): Promise<void> {
  throw new TtrpcError(Code.Unimplemented, 'exec: not wired yet');
}
