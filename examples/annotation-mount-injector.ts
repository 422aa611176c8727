/**
 * A worked example of a user plugin: a spec injector that, when a container carries
 * the annotation `example.com/greeting`, sets an environment variable to its value and
 * bind-mounts a host directory read-only into the container.
 *
 * Build it (it is plain TypeScript; any compiler will do), then name it in
 * /etc/hutch/config.yaml:
 *
 *   plugins:
 *     - kind: injector
 *       name: greeting
 *       module: /opt/hutch/annotation-mount-injector.js
 *   injectors:
 *     greeting:
 *       hostDir: /srv/greeting      # required
 *       containerPath: /greeting    # default
 *       variable: GREETING          # default
 *
 *   podman --runtime hutch run --annotation example.com/greeting=hello busybox sh -c 'echo $GREETING; ls /greeting'
 */
import type { InjectionContext, PluginContext, SettingsReader, Spec, SpecInjector } from 'hutch';

export const GREETING_ANNOTATION = 'example.com/greeting';

interface GreetingSettings {
  hostDir: string;
  containerPath: string;
  variable: string;
}

export class AnnotationMountInjector implements SpecInjector {
  readonly name = 'greeting';

  /** Validates `injectors.greeting`; errors name the key (e.g. "injectors.greeting.hostDir: required"). */
  static readSettings(raw: unknown, at: SettingsReader): GreetingSettings {
    const obj = at.object(raw, ['hostDir', 'containerPath', 'variable']);
    const hostDir = at.child('hostDir').absolutePath(obj.hostDir);
    if (!hostDir) throw at.child('hostDir').fail('required (the host directory to mount)');
    const variable = at.child('variable').string(obj.variable, 'GREETING');
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) throw at.child('variable').fail(`"${variable}" is not an environment variable name`);
    return { hostDir, containerPath: at.child('containerPath').absolutePath(obj.containerPath, '/greeting'), variable };
  }

  constructor(
    private readonly settings: GreetingSettings,
    private readonly context: PluginContext,
  ) {}

  inject(spec: Spec, ctx: InjectionContext): Spec {
    const greeting = ctx.annotations[GREETING_ANNOTATION];
    if (greeting === undefined || !spec.process) return spec;
    const env = (spec.process.env ??= []).filter((e) => !e.startsWith(`${this.settings.variable}=`));
    spec.process.env = [...env, `${this.settings.variable}=${greeting}`];
    spec.mounts = [
      ...(spec.mounts ?? []).filter((m) => m.destination !== this.settings.containerPath),
      { destination: this.settings.containerPath, type: 'bind', source: this.settings.hostDir, options: ['rbind', 'ro', 'nosuid', 'nodev'] },
    ];
    this.context.log.debug(`greeting: container ${ctx.id} greets "${greeting}"`);
    return spec;
  }
}
