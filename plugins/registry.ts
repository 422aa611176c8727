/**
 * The plugin registry: one tsyringe container holding every plugin of every kind —
 * the built-ins (plugins/builtins.ts) and the user's plugins from the configuration —
 * under the token `plugin:<kind>:<name>`, and each kind's list under `plugins:<kind>`.
 * A plugin is loaded, checked and constructed on first use, once per registry; one
 * that does not apply on this host (its static `appliesHere` gives a reason, or its
 * constructor throws `SkipPlugin`) is skipped with a debug log.
 *
 * Loaded only when a configuration file exists or a container asks for something
 * (tsyringe costs CLI start-up time).
 *
 * Example:
 *   const registry = new PluginRegistry(loadConfig(globals.config), log);
 *   const network = await registry.get<NetworkPlugin>('network', pluginFor(config, 'network', annotations) ?? 'bridge');
 */
import 'reflect-metadata';
import { container as rootContainer, type DependencyContainer } from 'tsyringe';
import { HutchError } from '../runtime/errors';
import { BUILTINS } from './builtins';
import { settingsFor, type HutchConfig } from './config';
import { KIND_TITLE, SkipPlugin, type PluginClass, type PluginContext, type PluginKind, type PluginLog } from './plugin';
import { SettingsReader } from './settings';
import { checkImplements, loadUserPlugin } from './user-plugin';

export interface PluginRegistration {
  kind: PluginKind;
  name: string;
  /** "built-in" or "user plugin <module>" — for messages */
  origin: string;
  load(): PluginClass | Promise<PluginClass>;
  /** true for user plugins: settings are validated by the class's readSettings */
  user: boolean;
}

export const pluginToken = (kind: PluginKind, name: string): string => `plugin:${kind}:${name}`;
export const kindToken = (kind: PluginKind): string => `plugins:${kind}`;
const instanceToken = (kind: PluginKind, name: string): string => `instance:${kind}:${name}`;

export class PluginRegistry {
  readonly container: DependencyContainer;
  private readonly skipped = new Map<string, string>();

  constructor(
    readonly config: HutchConfig,
    private readonly log: PluginLog,
  ) {
    this.container = rootContainer.createChildContainer();
    for (const b of BUILTINS) this.register({ kind: b.kind, name: b.name, origin: 'built-in', load: b.load, user: false });
    for (const p of config.plugins) {
      this.register({ kind: p.kind, name: p.name, origin: `user plugin ${p.module}`, load: () => loadUserPlugin(p, config.file), user: true });
    }
  }

  /** Adds (or replaces) a plugin; the lead registers built-ins of other kinds this way too. */
  register(registration: PluginRegistration): void {
    this.container.register(pluginToken(registration.kind, registration.name), { useValue: registration });
    this.container.register(kindToken(registration.kind), { useValue: registration });
  }

  /** Every registered plugin of a kind (later registrations of a name replace earlier ones). */
  registrations(kind: PluginKind): PluginRegistration[] {
    if (!this.container.isRegistered(kindToken(kind))) return [];
    const all = this.container.resolveAll<PluginRegistration>(kindToken(kind));
    const byName = new Map<string, PluginRegistration>();
    for (const r of all) byName.set(r.name, r);
    return [...byName.values()];
  }

  registration(kind: PluginKind, name: string): PluginRegistration {
    const token = pluginToken(kind, name);
    if (!this.container.isRegistered(token)) {
      const known = this.registrations(kind).map((r) => r.name);
      throw new HutchError('config', `unknown ${KIND_TITLE[kind]} "${name}" (known: ${known.join(', ') || 'none'})`, { kind: 'not-found' });
    }
    return this.container.resolve<PluginRegistration>(token);
  }

  /**
   * The plugin instance, constructed on first use; undefined when it does not apply here.
   * Errors name the plugin and where it came from.
   */
  async get<T>(kind: PluginKind, name: string): Promise<T | undefined> {
    const token = instanceToken(kind, name);
    if (this.container.isRegistered(token)) return this.container.resolve<T>(token);
    if (this.skipped.has(token)) return undefined;
    const reg = this.registration(kind, name);
    const cls = await reg.load();
    const section = kind === 'injector' ? 'injectors' : kind;
    const at = new SettingsReader(this.config.file ?? '', `${section}.${name}`);
    const raw = (kind === 'injector' ? this.config.injectors : this.config[kind]).settings[name];
    const settings = reg.user ? (cls.readSettings ? cls.readSettings(raw, at) : at.object(raw)) : settingsFor(this.config, kind, name);
    const context: PluginContext = { kind, name, configFile: this.config.file, log: this.log };
    const what = `${KIND_TITLE[kind]} "${name}" (${reg.origin})`;
    let instance: T;
    try {
      const applies = cls.appliesHere ? await cls.appliesHere(settings, context) : true;
      if (applies !== true) throw new SkipPlugin(applies);
      instance = new cls(settings, context) as T;
    } catch (e) {
      if (e instanceof SkipPlugin) {
        this.log.debug(`${what} does not apply on this host, skipped: ${e.message}`);
        this.skipped.set(token, e.message);
        return undefined;
      }
      if (e instanceof HutchError && e.op === 'config') throw e;
      throw new HutchError('config', `${what}: setting up failed: ${(e as Error)?.message ?? String(e)}`, { kind: 'invalid-argument', cause: e });
    }
    checkImplements(kind, name, reg.origin, instance);
    this.container.registerInstance(token, instance);
    return instance;
  }
}
