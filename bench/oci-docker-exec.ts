/**
 * hutch under Docker and exec latency, side by side with runc in one run:
 *   1. `docker run --rm IMAGE true` with --runtime hutch vs --runtime runc (a private
 *      dockerd of the e2e fixture: own root, socket and bridge; --network none);
 *   2. `hutch exec ID true` vs `runc exec ID true` into equivalent running busybox
 *      containers made from the same bundle;
 *   3. `docker exec ID true` into a hutch container vs a runc one.
 * Prints hyperfine's means and the hutch/runc ratios.
 *
 *   node dist/bench/oci-docker-exec.js [--runs N]     (root; needs hyperfine, docker.io, runc)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeBundle } from '../test/fixtures/busybox';
import { HUTCH_BIN, RUN_ID, tempDir } from '../test/fixtures/env';
import { busyboxImage } from '../test/fixtures/oci-image';
import { DOCKER, Dockerd, parentCgroupExists, removeParentCgroup } from '../test/fixtures/peers';

// hutch's launchers drop NODE_EXTRA_CA_CERTS (Node parses that bundle at every start);
// the `node -e 0` floor, and the daemons, start the same way.
delete process.env.NODE_EXTRA_CA_CERTS;

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;

interface Result {
  command: string;
  mean: number;
  stddev: number;
}

function hyperfine(name: string, commands: string[], dir: string): Result[] {
  const out = path.join(dir, `${name}.json`);
  execFileSync('hyperfine', ['-N', '--warmup', '3', '--runs', String(RUNS), '--export-json', out, ...commands], { stdio: ['ignore', 'ignore', 'inherit'] });
  return (JSON.parse(fs.readFileSync(out, 'utf8')) as { results: Result[] }).results;
}

function report(title: string, results: Result[], hutchIndex: number, runcIndex: number, floorIndex?: number): void {
  console.log(`\n${title}`);
  for (const r of results) console.log(`  ${(r.mean * 1000).toFixed(1).padStart(8)} ms ± ${(r.stddev * 1000).toFixed(1).padStart(5)}   ${r.command}`);
  const hutch = results[hutchIndex].mean;
  const runc = results[runcIndex].mean;
  let line = `  hutch/runc: ${(hutch / runc).toFixed(2)}x`;
  if (floorIndex !== undefined) {
    const above = hutch - results[floorIndex].mean;
    line += `; above the \`node -e 0\` floor: ${(above * 1000).toFixed(1)} ms = ${(above / runc).toFixed(2)}x runc`;
  }
  console.log(line);
}

async function main(): Promise<void> {
  const work = tempDir('bench-oci');
  const daemon = new Dockerd(path.join(work, 'd'));
  const dockerCgroupExisted = parentCgroupExists('docker');
  const image = `hutch-busybox:${RUN_ID}`;
  const runcRoot = path.join(work, 'runc');
  const hutchRoot = path.join(work, 'hutch');
  const ids = { runc: `bench-runc-${RUN_ID}`, hutch: `bench-hutch-${RUN_ID}` };
  try {
    fs.mkdirSync(daemon.dir, { recursive: true });
    await daemon.start();
    const img = busyboxImage(path.join(work, 'image'), image);
    if (daemon.docker(['import', img.rootfsTar, image]).code !== 0) throw new Error('docker import failed');
    const dockerH = `${DOCKER} -H unix://${daemon.socket}`;
    report(
      'docker run --rm IMAGE true (--network none)',
      hyperfine('docker-run', [`${dockerH} run --rm --network none --runtime hutch ${image} true`, `${dockerH} run --rm --network none --runtime runc ${image} true`], work),
      0,
      1,
    );

    const bundle = makeBundle(path.join(work, 'bundle'), ['sleep', '100000']);
    const devnull = fs.openSync('/dev/null', 'r+');
    for (const [bin, root, id] of [
      ['runc', runcRoot, ids.runc],
      [HUTCH_BIN, hutchRoot, ids.hutch],
    ]) {
      const r = spawnSync(bin, ['--root', root, 'run', '-d', '--bundle', bundle, id], { stdio: [devnull, devnull, 'inherit'] });
      if (r.status !== 0) throw new Error(`${bin} run -d failed`);
    }
    fs.closeSync(devnull);
    report(
      'exec ID true (busybox bundle, runc default spec)',
      hyperfine('exec', [`${HUTCH_BIN} --root ${hutchRoot} exec ${ids.hutch} true`, `runc --root ${runcRoot} exec ${ids.runc} true`, 'node -e 0'], work),
      0,
      1,
      2,
    );

    for (const rt of ['hutch', 'runc']) daemon.docker(['run', '-d', '--name', `bench-${rt}-${RUN_ID}`, '--network', 'none', '--runtime', rt, image, 'sleep', '100000']);
    report(
      'docker exec ID true',
      hyperfine('docker-exec', [`${dockerH} exec bench-hutch-${RUN_ID} true`, `${dockerH} exec bench-runc-${RUN_ID} true`], work),
      0,
      1,
    );
  } finally {
    spawnSync('runc', ['--root', runcRoot, 'delete', '--force', ids.runc], { stdio: 'ignore' });
    spawnSync(HUTCH_BIN, ['--root', hutchRoot, 'delete', '--force', ids.hutch], { stdio: 'ignore' });
    await daemon.stop();
    if (!dockerCgroupExisted) removeParentCgroup('docker');
    // runc's default cgroup for a bundle without cgroupsPath is /<id>
    removeParentCgroup(ids.runc);
    spawnSync('rm', ['-rf', '--one-file-system', work]);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
