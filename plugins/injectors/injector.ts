/**
 * The spec injector plugin kind: a transformer from spec to spec, run on `create`
 * before anything is built (hooks.d, CDI devices, GPUs, a user's own). Injectors
 * must not touch the host; they describe changes (hooks, devices, mounts, env).
 *
 * Example:
 *   class AddEnv implements SpecInjector {
 *     readonly name = 'add-env';
 *     inject(spec: Spec) { spec.process?.env?.push('HELLO=world'); return spec; }
 *   }
 */
import type { Spec } from '../../runtime/spec/types';

export interface InjectionContext {
  id: string;
  /** absolute bundle directory */
  bundle: string;
  annotations: Record<string, string>;
}

export interface SpecInjector {
  readonly name: string;
  inject(spec: Spec, context: InjectionContext): Spec | Promise<Spec>;
}
