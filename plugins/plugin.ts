/**
 * The plugin API shared by every kind: how hutch constructs a plugin, what it hands
 * it, and how a plugin says it does not apply on this host. Built-ins and a user's own
 * plugins (a module named in the configuration) follow the same contract.
 *
 * Example — a user's network plugin that only applies where a tool is installed:
 *   export class MyNet implements NetworkPlugin {
 *     static appliesHere() { return fs.existsSync('/usr/sbin/mynet') || 'no /usr/sbin/mynet'; }
 *     readonly name = 'mynet';
 *     constructor(readonly settings: { bridge?: string }, readonly context: PluginContext) {}
 *     async setup(request: NetworkRequest) { ... }
 *     async teardown(request) { ... }
 *   }
 */
import type { SettingsReader } from './settings';

export const PLUGIN_KINDS = ['cgroup', 'snapshotter', 'network', 'injector'] as const;
export type PluginKind = (typeof PLUGIN_KINDS)[number];

/** What each kind is called in messages. */
export const KIND_TITLE: Record<PluginKind, string> = {
  cgroup: 'cgroup manager',
  snapshotter: 'snapshotter',
  network: 'network plugin',
  injector: 'injector',
};

export interface PluginLog {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export interface PluginContext {
  kind: PluginKind;
  /** the name the configuration knows the plugin by */
  name: string;
  /** the configuration file in force, if any */
  configFile?: string;
  log: PluginLog;
}

/**
 * A plugin class. hutch calls `new Plugin(settings, context)` once per process and
 * reuses the instance. `settings` is the plugin's section of the configuration
 * (`<kind>.<name>`), after `readSettings` when the class has one.
 */
export interface PluginClass<T = unknown, S = any> {
  // `any` for S: each plugin declares its own settings shape; hutch only passes it through.
  new (settings: S, context: PluginContext): T;
  /** `true`, or the reason the plugin does not apply here (it is then skipped with a debug log). */
  appliesHere?(settings: S, context: PluginContext): true | string | Promise<true | string>;
  /** Validates the raw settings; throw `at.fail(...)` (or `at.child(key).fail(...)`) to name the key. */
  readSettings?(raw: unknown, at: SettingsReader): S;
}

/** Thrown by a plugin's constructor to skip itself, like containerd's ErrSkipPlugin. */
export class SkipPlugin extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SkipPlugin';
  }
}

/** A silent log for callers that bring none. Warnings still reach stderr. */
export const quietLog: PluginLog = {
  debug: () => undefined,
  info: () => undefined,
  warn: (msg) => process.stderr.write(`hutch: warning: ${msg}\n`),
};
