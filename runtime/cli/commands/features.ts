import type { Command } from '../command';
import { CAPABILITIES } from '../../spec/capabilities';
import { knownMountOptions } from '../../spec/mount-options';
import { SECCOMP_ACTIONS, SECCOMP_ARCHES, SECCOMP_FLAGS, SECCOMP_OPERATORS } from '../../spec/seccomp';
import { HOOK_STAGES, NAMESPACE_TYPES } from '../../spec/types';
import { OCI_VERSION_MIN } from '../../spec/version';
import { SPEC_VERSION, VERSION } from '../../version';
import { printJson } from '../output';

export const command: Command = {
  name: 'features',
  summary: 'show what this runtime supports (runtime-spec features document)',
  usage: '',
  flags: [],
  async run() {
    printJson(
      {
        ociVersionMin: OCI_VERSION_MIN,
        ociVersionMax: SPEC_VERSION,
        hooks: [...HOOK_STAGES],
        mountOptions: knownMountOptions(),
        linux: {
          namespaces: [...NAMESPACE_TYPES],
          capabilities: [...CAPABILITIES],
          cgroup: { v1: true, v2: true, systemd: false, systemdUser: false, rdma: true },
          seccomp: {
            enabled: true,
            actions: Object.keys(SECCOMP_ACTIONS),
            operators: Object.keys(SECCOMP_OPERATORS),
            archs: Object.keys(SECCOMP_ARCHES),
            knownFlags: Object.keys(SECCOMP_FLAGS),
            supportedFlags: Object.keys(SECCOMP_FLAGS),
          },
          apparmor: { enabled: false },
          selinux: { enabled: false },
          intelRdt: { enabled: false },
          mountExtensions: { idmap: { enabled: false } },
        },
        annotations: { 'io.hutch.version': VERSION, 'org.opencontainers.runc.checkpoint.enabled': 'false' },
      },
      4,
    );
  },
};
