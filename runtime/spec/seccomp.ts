/**
 * The OCI seccomp section → the program the addon compiles with libseccomp. Every
 * action, operator, architecture and flag of the spec; errors name the JSON path.
 */
import { SeccompAction, SeccompOp, type SeccompProgram } from '../../addon';
import { invalidField } from '../errors';
import type { Seccomp } from './types';

export const SECCOMP_ACTIONS: Record<string, SeccompAction> = {
  SCMP_ACT_KILL: SeccompAction.KillThread,
  SCMP_ACT_KILL_THREAD: SeccompAction.KillThread,
  SCMP_ACT_KILL_PROCESS: SeccompAction.KillProcess,
  SCMP_ACT_TRAP: SeccompAction.Trap,
  SCMP_ACT_ERRNO: SeccompAction.Errno,
  SCMP_ACT_TRACE: SeccompAction.Trace,
  SCMP_ACT_ALLOW: SeccompAction.Allow,
  SCMP_ACT_LOG: SeccompAction.Log,
  SCMP_ACT_NOTIFY: SeccompAction.Notify,
};

export const SECCOMP_OPERATORS: Record<string, SeccompOp> = {
  SCMP_CMP_NE: SeccompOp.NotEqual,
  SCMP_CMP_LT: SeccompOp.LessThan,
  SCMP_CMP_LE: SeccompOp.LessEqual,
  SCMP_CMP_EQ: SeccompOp.Equal,
  SCMP_CMP_GE: SeccompOp.GreaterEqual,
  SCMP_CMP_GT: SeccompOp.GreaterThan,
  SCMP_CMP_MASKED_EQ: SeccompOp.MaskedEqual,
};

/** OCI SCMP_ARCH_* → libseccomp's names. */
export const SECCOMP_ARCHES: Record<string, string> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPS64N32: 'mips64n32',
  SCMP_ARCH_MIPSEL: 'mipsel',
  SCMP_ARCH_MIPSEL64: 'mipsel64',
  SCMP_ARCH_MIPSEL64N32: 'mipsel64n32',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC64LE: 'ppc64le',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_PARISC: 'parisc',
  SCMP_ARCH_PARISC64: 'parisc64',
  SCMP_ARCH_RISCV64: 'riscv64',
};

export const SECCOMP_FLAGS: Record<string, number> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};

const EPERM = 1;

function action(op: string, field: string, name: unknown): SeccompAction {
  const a = typeof name === 'string' ? SECCOMP_ACTIONS[name] : undefined;
  if (a === undefined) throw invalidField(op, field, `unknown seccomp action "${String(name)}"`);
  return a;
}

function u64(op: string, field: string, v: unknown): bigint {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw invalidField(op, field, 'not an unsigned integer');
  return BigInt(v);
}

export interface CompiledSeccompInput {
  program: SeccompProgram;
  flags: number;
  notify: boolean;
}

/** Validates `linux.seccomp` and turns it into the addon's program. */
export function seccompProgram(op: string, s: Seccomp): CompiledSeccompInput {
  const base = 'linux.seccomp';
  const defaultAction = action(op, `${base}.defaultAction`, s.defaultAction);
  let notify = defaultAction === SeccompAction.Notify;
  const architectures = (s.architectures ?? []).map((a, i) => {
    const name = SECCOMP_ARCHES[a];
    if (!name) throw invalidField(op, `${base}.architectures[${i}]`, `unknown architecture "${a}"`);
    return name;
  });
  let flags = 0;
  (s.flags ?? []).forEach((f, i) => {
    const bit = SECCOMP_FLAGS[f];
    if (bit === undefined) throw invalidField(op, `${base}.flags[${i}]`, `unknown seccomp flag "${f}"`);
    flags |= bit;
  });
  const syscalls = (s.syscalls ?? []).map((sc, i) => {
    const field = `${base}.syscalls[${i}]`;
    if (!Array.isArray(sc.names) || sc.names.length === 0 || sc.names.some((n) => typeof n !== 'string')) {
      throw invalidField(op, `${field}.names`, 'must be a non-empty list of syscall names');
    }
    const act = action(op, `${field}.action`, sc.action);
    notify ||= act === SeccompAction.Notify;
    const args = (sc.args ?? []).map((a, j) => {
      const af = `${field}.args[${j}]`;
      const opNum = SECCOMP_OPERATORS[a.op];
      if (opNum === undefined) throw invalidField(op, `${af}.op`, `unknown seccomp operator "${a.op}"`);
      if (!Number.isInteger(a.index) || a.index < 0 || a.index > 5) throw invalidField(op, `${af}.index`, 'must be 0 to 5');
      return { index: a.index, value: u64(op, `${af}.value`, a.value), valueTwo: u64(op, `${af}.valueTwo`, a.valueTwo ?? 0), op: opNum };
    });
    return { names: sc.names, action: act, errno: sc.errnoRet ?? EPERM, args };
  });
  if (notify && !s.listenerPath) throw invalidField(op, `${base}.listenerPath`, 'SCMP_ACT_NOTIFY needs a listenerPath');
  if (defaultAction === SeccompAction.Notify) throw invalidField(op, `${base}.defaultAction`, 'SCMP_ACT_NOTIFY cannot be the default action');
  return { program: { defaultAction, defaultErrno: s.defaultErrnoRet ?? EPERM, architectures, syscalls }, flags, notify };
}
