/**
 * The cgroup plugin on this host's layout (v1 or hybrid here; v2 where the host is
 * unified): resources read back from the kernel, OOM events, pids.max, the freezer,
 * device rules, update, ps and events — see test/fixtures/cgroup-suite.ts.
 */
import { cgroupSuite } from '../fixtures/cgroup-suite';

cgroupSuite();
