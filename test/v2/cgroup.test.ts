/**
 * The cgroup suite on a pure cgroup v2 kernel: run by scripts/test-cgroup2 inside the
 * cgroup v2 guest (../shared/tools/cgroup2-vm), where the controllers are cgroup2's,
 * devices are an eBPF program and the freezer is cgroup.freeze.
 */
import assert = require('node:assert/strict');
import { it } from 'node:test';
import { hostLayout } from '../../plugins/cgroup/hierarchy';
import { cgroupSuite } from '../fixtures/cgroup-suite';

if (hostLayout() !== 'v2') {
  it('runs on a pure cgroup v2 kernel', () => {
    assert.fail(`this host is cgroup ${hostLayout()}: run the v2 tier through scripts/test-cgroup2, which boots a cgroup v2 guest`);
  });
} else {
  cgroupSuite();
}
