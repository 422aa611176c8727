/**
 * What the v1 and v2 file planners need to know about one container's cgroup and
 * the host: where each controller's directory is, which CPUs and memory nodes the
 * parent offers, which huge page sizes exist. Reading files through here keeps the
 * planners testable against a directory of plain files.
 *
 * Example:
 *   const ctx: PlanContext = { op: 'create', name: specField, update: false, dirs: { memory: dir },
 *     allowedCpus: [0, 1], allowedMems: [0], hugePageSizes: ['2MB'] };
 *   need(ctx, 'hugetlb', 'hugepageLimits[0]');   // throws "…: the hugetlb controller is not available on this host"
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../../runtime/errors';
import { formatCpuList, pageSizeName, parseCpuList } from './convert';
import { resourceError, type FieldNamer } from './validate';

export interface PlanContext {
  op: string;
  /** names a field under linux.resources as the user wrote it */
  name: FieldNamer;
  /** an update of a live container (current usage matters) rather than a create */
  update: boolean;
  /** controller ("memory", "cpu", …; "unified" on v1 hybrid hosts) → the container's directory */
  dirs: Record<string, string>;
  /** CPUs and memory nodes the parent cgroup offers */
  allowedCpus: number[];
  allowedMems: number[];
  /** huge page sizes of the host, as cgroup files name them ("2MB", "1GB") */
  hugePageSizes: string[];
  /** why a controller is missing, for the error ("not mounted on this host") */
  missingReason?: (controller: string) => string;
}

export function has(ctx: PlanContext, controller: string): boolean {
  return ctx.dirs[controller] !== undefined;
}

export function exists(ctx: PlanContext, controller: string, file: string): boolean {
  const dir = ctx.dirs[controller];
  return dir !== undefined && fs.existsSync(path.join(dir, file));
}

export function read(ctx: PlanContext, controller: string, file: string): string | undefined {
  const dir = ctx.dirs[controller];
  if (!dir) return undefined;
  try {
    return fs.readFileSync(path.join(dir, file), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function fail(ctx: PlanContext, field: string, problem: string): never {
  throw resourceError(ctx.op, ctx.name(field), problem);
}

/** Throws "<field>: the <controller> controller is not …" unless it is there. */
export function need(ctx: PlanContext, controller: string, field: string): void {
  if (has(ctx, controller)) return;
  const why = ctx.missingReason?.(controller) ?? 'not available on this host';
  throw new HutchError(ctx.op, `${ctx.name(field)}: the ${controller} controller is ${why}`, { kind: 'failed-precondition', field: ctx.name(field) });
}

/** cpuset.cpus / cpuset.mems must stay inside what the parent offers. */
export function checkCpuset(ctx: PlanContext, field: string, list: string, allowed: number[], what: string): void {
  const wanted = parseCpuList(list);
  const outside = wanted.filter((n) => !allowed.includes(n));
  if (outside.length) {
    fail(ctx, field, `${what} ${outside.join(',')} ${outside.length > 1 ? 'are' : 'is'} not available on this host (available: ${allowed.length ? formatCpuList(allowed) : 'none'})`);
  }
}


/**
 * A PlanContext whose host facts (the parent's CPUs and memory nodes, the huge page
 * sizes) are read on first use, once: most creates ask for neither cpuset nor hugetlb.
 */
export function withHostFacts(base: Omit<PlanContext, 'allowedCpus' | 'allowedMems' | 'hugePageSizes'>, cpusFile: string | undefined, memsFile: string | undefined): PlanContext {
  const once = <T>(read: () => T): PropertyDescriptor => {
    let value: T | undefined;
    return { enumerable: true, get: () => (value ??= read()) };
  };
  return Object.defineProperties(base, {
    allowedCpus: once(() => (cpusFile ? readList(cpusFile) : [])),
    allowedMems: once(() => (memsFile ? readList(memsFile) : [])),
    hugePageSizes: once(hostHugePageSizes),
  }) as PlanContext;
}

/** Huge page sizes from /sys/kernel/mm/hugepages ("hugepages-2048kB" → "2MB"). */
export function hostHugePageSizes(): string[] {
  try {
    return fs
      .readdirSync('/sys/kernel/mm/hugepages')
      .map((d) => /^hugepages-(\d+)kB$/.exec(d))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => pageSizeName(Number(m[1])));
  } catch {
    return [];
  }
}

/** A cpulist file ("0-3,5"), empty or missing → []. */
export function readList(file: string): number[] {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    return text ? parseCpuList(text) : [];
  } catch {
    return [];
  }
}

export function checkHugepages(ctx: PlanContext, field: string, size: string): void {
  if (!ctx.hugePageSizes.includes(size)) {
    fail(ctx, field, `huge page size "${size}" is not supported by this host (supported: ${ctx.hugePageSizes.join(', ') || 'none'})`);
  }
}

/** A memory limit must not be below what the container uses now (update only). */
export function checkNotBelowUsage(ctx: PlanContext, field: string, limit: number, usage: string | undefined): void {
  if (!ctx.update || limit <= 0 || usage === undefined) return;
  const used = Number(usage);
  if (Number.isFinite(used) && limit < used) fail(ctx, field, `${limit} is below the container's current memory usage (${used} bytes)`);
}
