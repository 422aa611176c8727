/** A container the shim serves: its init, its execs, what it mounted, its OOM watch. */
import type { CgroupHandle, Disposable } from '../../plugins/cgroup/manager';
import type { Process } from '../../runtime/spec/types';
import type { ShimProcess } from './process';

export interface PendingExec {
  process: ShimProcess;
  spec: Process;
}

export class ShimContainer {
  readonly execs = new Map<string, ShimProcess>();
  /** added by Exec, started by Start(exec_id) */
  readonly pendingSpecs = new Map<string, Process>();
  oom?: Disposable;
  cgroup?: CgroupHandle;
  /** the container has its own pid namespace (else its processes outlive the init) */
  ownPidNamespace = true;

  constructor(
    readonly id: string,
    readonly bundle: string,
    readonly init: ShimProcess,
    readonly rootfsMounted: boolean,
  ) {}

  process(execId: string | null | undefined): ShimProcess | undefined {
    return execId ? this.execs.get(execId) : this.init;
  }

  /** Exec'd processes still running: the init's exit is reported after theirs. */
  runningExecs(): ShimProcess[] {
    return [...this.execs.values()].filter((p) => p.state === 'running');
  }
}
