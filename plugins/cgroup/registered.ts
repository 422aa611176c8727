/**
 * The built-in cgroup managers as registry plugins (`new (settings, context)`), each
 * declaring where it applies: v1 on v1 and hybrid hosts, v2 on unified ones.
 */
import type { PluginContext } from '../plugin';
import { hostLayout } from './hierarchy';
import { NoCgroupManager } from './none';
import { CgroupV1Manager } from './v1';
import { CgroupV2Manager } from './v2';

export class RegisteredV1Manager extends CgroupV1Manager {
  static appliesHere(): true | string {
    return hostLayout() === 'v2' ? 'this host has no cgroup v1 hierarchies' : true;
  }
  constructor(_settings?: unknown, _context?: PluginContext) {
    super();
  }
}

export class RegisteredV2Manager extends CgroupV2Manager {
  static appliesHere(): true | string {
    return hostLayout() === 'v2' ? true : 'this host keeps its controllers in cgroup v1 hierarchies';
  }
  constructor(_settings?: unknown, _context?: PluginContext) {
    super();
  }
}

export class RegisteredNoManager extends NoCgroupManager {
  constructor(_settings?: unknown, _context?: PluginContext) {
    super();
  }
}
