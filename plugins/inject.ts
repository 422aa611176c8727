/**
 * The one entry point `create` (and `hutch wrap`) calls on every container:
 *
 *   spec = await injectSpec(spec, { id, bundle, annotations }, globals.config);
 *
 * It runs the enabled spec injectors in order (configuration, then the
 * `io.hutch.injectors` annotation) and returns the edited spec; the caller's spec is
 * never modified, so a failure leaves nothing half-edited. Fast when nothing applies:
 * without a configuration file and without a container asking for devices, GPUs or
 * matching hooks, it reads one directory and returns — no tsyringe, no YAML.
 *
 * An injector that throws fails the whole call with one error naming the injector and
 * the container:
 *   create: injector "greeting" (user plugin /opt/hutch/greeting.js) failed for container "web": boom
 */
import type { Spec } from '../runtime/spec/types';
import { HutchError } from '../runtime/errors';
import { builtin } from './builtins';
import { injectorsFor, loadConfig, settingsFor, type HutchConfig } from './config';
import type { InjectionContext, SpecInjector } from './injectors/injector';
import { quietLog, type PluginLog } from './plugin';
import type { PluginRegistry } from './registry';

export interface InjectSpecContext extends InjectionContext {
  /** where plugins log (default: warnings to stderr, nothing else) */
  log?: PluginLog;
}

let registries = new WeakMap<HutchConfig, PluginRegistry>();

/** The registry for a configuration, made once per process (loads tsyringe). */
export function registryFor(config: HutchConfig, log: PluginLog): PluginRegistry {
  let registry = registries.get(config);
  if (!registry) {
    const { PluginRegistry: Registry } = require('./registry') as typeof import('./registry');
    registry = new Registry(config, log);
    registries.set(config, registry);
  }
  return registry;
}

/** Forgets constructed plugins (tests that change a plugin module between runs). */
export function resetRegistries(): void {
  registries = new WeakMap();
}

interface Step {
  name: string;
  /** built-in injectors are constructed directly when no configuration file exists */
  direct?: () => SpecInjector;
}

function planSteps(config: HutchConfig, spec: Spec, context: InjectionContext, log: PluginLog): Step[] {
  const steps: Step[] = [];
  for (const name of injectorsFor(config, context.annotations)) {
    const b = builtin('injector', name);
    if (!b) {
      steps.push({ name }); // a user's injector decides for itself
      continue;
    }
    const settings = settingsFor(config, 'injector', name);
    if (b.wants && !b.wants(spec, context, settings)) continue;
    steps.push({ name, direct: () => new (b.load())(settings, { kind: 'injector', name, configFile: config.file, log }) as SpecInjector });
  }
  return steps;
}

function failure(name: string, origin: string | undefined, id: string, err: unknown): HutchError {
  const detail = err instanceof HutchError ? err.detail : err instanceof Error ? err.message : String(err);
  const who = origin ? `injector "${name}" (${origin})` : `injector "${name}"`;
  const info = err instanceof HutchError ? { kind: err.kind, errno: err.errno, path: err.path, field: err.field, cause: err } : { kind: 'internal' as const, cause: err };
  return new HutchError('create', `${who} failed for container "${id}": ${detail}`, info);
}

/**
 * Runs the spec injectors on one container's spec and returns the result.
 * `configPath` is `--config` / `HUTCH_CONFIG` (default: /etc/hutch/config.*).
 */
export async function injectSpec(spec: Spec, context: InjectSpecContext, configPath?: string): Promise<Spec> {
  const log = context.log ?? quietLog;
  const ctx: InjectionContext = { id: context.id, bundle: context.bundle, annotations: context.annotations ?? {} };
  const config = loadConfig(configPath);
  const steps = planSteps(config, spec, ctx, log);
  if (!steps.length) return spec;
  const registry = config.file ? registryFor(config, log) : undefined;
  let current: Spec = structuredClone(spec);
  for (const step of steps) {
    let injector: SpecInjector | undefined;
    let origin: string | undefined;
    if (registry) {
      const reg = registry.registration('injector', step.name);
      origin = reg.user ? reg.origin : undefined;
      injector = await registry.get<SpecInjector>('injector', step.name);
      if (!injector) continue; // does not apply on this host
    } else {
      injector = step.direct!();
    }
    let result: Spec;
    try {
      result = await injector.inject(current, ctx);
    } catch (e) {
      throw failure(step.name, origin, ctx.id, e);
    }
    if (result === null || typeof result !== 'object' || Array.isArray(result)) {
      throw failure(step.name, origin, ctx.id, new Error(`inject() returned ${result === null ? 'null' : typeof result} instead of the spec`));
    }
    log.debug(`injector ${step.name} applied to container ${ctx.id}`);
    current = result;
  }
  return current;
}
