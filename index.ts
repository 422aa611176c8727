/**
 * hutch's public API for plugin authors: the plugin kinds, what hutch hands a plugin,
 * and the OCI spec types. A user plugin is a module that exports a class implementing
 * one kind; the configuration names the module (see docs/plugins.md).
 *
 * Example — an injector (examples/annotation-mount-injector.ts is the full version):
 *   import type { SpecInjector, InjectionContext, PluginContext, Spec } from 'hutch';
 *   export class Greeting implements SpecInjector {
 *     readonly name = 'greeting';
 *     constructor(readonly settings: { variable?: string }, readonly context: PluginContext) {}
 *     inject(spec: Spec, ctx: InjectionContext): Spec {
 *       const value = ctx.annotations['example.com/greeting'];
 *       if (value !== undefined) spec.process?.env?.push(`${this.settings.variable ?? 'GREETING'}=${value}`);
 *       return spec;
 *     }
 *   }
 */
export type { SpecInjector, InjectionContext } from './plugins/injectors/injector';
export type { NetworkPlugin, NetworkRequest, NetworkResult, NetworkTeardownRequest } from './plugins/network/plugin';
export type { CgroupManager, CgroupRequest, CgroupHandle, CgroupStats, CgroupMountSource, Disposable } from './plugins/cgroup/manager';
export type { PluginClass, PluginContext, PluginKind, PluginLog } from './plugins/plugin';
export { SkipPlugin, PLUGIN_KINDS } from './plugins/plugin';
export { SettingsReader } from './plugins/settings';
export { HutchError } from './runtime/errors';
export type * from './runtime/spec/types';
