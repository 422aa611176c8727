/**
 * What hutch's spec injection costs in front of runc: `runc run` of a busybox `true`
 * container, plain and through `hutch wrap -- runc` (no configuration: the fast path;
 * then a CDI device requested by annotation), interleaved, N runs each. Prints the
 * mean wall time of each and the ratio to plain runc.
 *   node dist/bench/inject-wrap.js [runs=20]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeBundle } from '../test/fixtures/busybox';
import { HUTCH_BIN, containerId, tempDir } from '../test/fixtures/env';

const runs = Number(process.argv[2] ?? 20);
const root = tempDir('bench-inject');
const runcRoot = path.join(root, 'runc');
try {
  const specs = path.join(root, 'cdi');
  fs.mkdirSync(specs);
  execFileSync('mknod', [path.join(root, 'rng'), 'c', '1', '9']);
  fs.writeFileSync(
    path.join(specs, 'bench.yaml'),
    `cdiVersion: "0.5.0"\nkind: hutch.bench/dev\ndevices:\n  - name: rng\n    containerEdits:\n      deviceNodes: [{ path: /dev/bench-rng, hostPath: ${root}/rng }]\n      env: [BENCH=1]\n`,
  );
  const config = path.join(root, 'config.yaml');
  fs.writeFileSync(config, `injectors:\n  cdi: { specDirs: [${specs}] }\n`);
  const emptyConfig = path.join(root, 'empty.json');
  fs.writeFileSync(emptyConfig, '{}');

  const cases: { name: string; argv: (bundle: string, id: string) => [string, string[]]; annotate?: boolean }[] = [
    { name: 'runc run', argv: (b, id) => ['runc', ['--root', runcRoot, 'run', '--bundle', b, id]] },
    { name: 'hutch wrap -- runc run (nothing to inject)', argv: (b, id) => [HUTCH_BIN, ['wrap', '--', 'runc', '--root', runcRoot, 'run', '--bundle', b, id]] },
    {
      name: 'hutch wrap -- runc run (CDI device, YAML config)',
      annotate: true,
      argv: (b, id) => [HUTCH_BIN, ['--config', config, 'wrap', '--', 'runc', '--root', runcRoot, 'run', '--bundle', b, id]],
    },
  ];
  const times = cases.map(() => [] as number[]);
  for (let i = 0; i < runs + 1; i++) {
    cases.forEach((c, k) => {
      const bundle = path.join(root, `b${k}-${i}`);
      makeBundle(bundle, ['true'], (s) => {
        if (c.annotate) s.annotations = { 'cdi.k8s.io/bench': 'hutch.bench/dev=rng' };
      });
      const [cmd, args] = c.argv(bundle, containerId(`bench${k}-${i}`));
      const t0 = process.hrtime.bigint();
      const r = spawnSync(cmd, args, { encoding: 'utf8' });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${c.name}: ${r.stderr}`);
      if (i > 0) times[k].push(ms); // the first round warms caches
      fs.rmSync(bundle, { recursive: true, force: true });
    });
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const base = mean(times[0]);
  cases.forEach((c, k) => console.log(`${c.name.padEnd(52)} ${mean(times[k]).toFixed(1).padStart(7)} ms   x${(mean(times[k]) / base).toFixed(2)}`));
} finally {
  fs.rmSync(root, { recursive: true, force: true });
}
