/**
 * The CDI injector: applies the Container Device Interface devices a container asks
 * for — through any `cdi.k8s.io/*` annotation or hutch's `io.hutch.cdi.devices`, each a
 * comma-separated list of fully qualified names — from the spec files in the
 * configured directories (default /etc/cdi, then /var/run/cdi). For each device, in
 * order: its spec's containerEdits (once per spec file), then the device's own.
 *
 * Example:
 *   annotations: { "cdi.k8s.io/test": "vendor.com/dev=dev0" }
 *   → spec gets dev0's device nodes, mounts, env and hooks
 *
 * Errors: an unknown device (naming any spec files that could not be read, since the
 * device may be in one), a device defined twice in one directory, an invalid spec file.
 */
import { HutchError } from '../../../runtime/errors';
import type { Spec } from '../../../runtime/spec/types';
import type { PluginContext } from '../../plugin';
import type { InjectionContext, SpecInjector } from '../injector';
import type { CdiSettings } from '../settings';
import { readCdiDirs, type CdiCache } from './cache';
import { applyContainerEdits } from './edits';
import { requestedDevices } from './names';
import type { CdiContainerEdits, CdiSpec } from './spec-file';

function unresolved(device: string, cache: CdiCache, dirs: readonly string[]): HutchError {
  const conflict = cache.conflicts.get(device);
  if (conflict) {
    return new HutchError('', `CDI device "${device}" is defined more than once in one directory (${conflict.join(', ')}); neither definition is used`, {
      kind: 'failed-precondition',
    });
  }
  let msg = `unknown CDI device "${device}" (no spec file in ${dirs.join(', ')} defines it)`;
  if (cache.invalid.length) msg += `; spec files that could not be read: ${cache.invalid.map((i) => i.error.message).join('; ')}`;
  return new HutchError('', msg, { kind: 'not-found' });
}

export class CdiInjector implements SpecInjector {
  readonly name = 'cdi';

  constructor(
    private readonly settings: CdiSettings,
    private readonly context: Pick<PluginContext, 'log'>,
  ) {}

  inject(spec: Spec, context: InjectionContext): Spec {
    const devices = requestedDevices(context.annotations);
    if (!devices.length) return spec;
    const cache = readCdiDirs(this.settings.specDirs);
    for (const { error } of cache.invalid) this.context.log.warn(`cdi: spec file skipped: ${error.message}`);
    const edits: CdiContainerEdits[] = [];
    const specsSeen = new Set<CdiSpec>();
    for (const device of devices) {
      const entry = cache.devices.get(device);
      if (!entry) throw unresolved(device, cache, this.settings.specDirs);
      if (!specsSeen.has(entry.spec)) {
        specsSeen.add(entry.spec);
        if (entry.spec.containerEdits) edits.push(entry.spec.containerEdits);
      }
      edits.push(entry.device.containerEdits);
      this.context.log.debug(`cdi: ${device} from ${entry.file}`);
    }
    return applyContainerEdits(spec, edits);
  }
}
