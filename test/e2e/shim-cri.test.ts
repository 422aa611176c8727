/**
 * The Kubernetes path: containerd 1.6's CRI plugin with a `hutch` runtime handler
 * (runtime_type io.containerd.hutch.v2), spoken to over gRPC as the kubelet would
 * (runtime.v1, our proto subset). A pod sandbox from a busybox-based pause image built
 * and imported here (no registry), a container in it, ExecSync, ContainerStats, then
 * StopPodSandbox and RemovePodSandbox — and nothing of it left afterwards.
 *
 * Networking: the pod uses the host's network namespace. CRI would otherwise create
 * /var/run/netns/cni-<uuid> namespaces whose names cannot carry the run id, and a
 * bridge/IPAM state outside the test's directory; the CNI path is the network
 * plugin's to test, not the shim's.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startContainerd, type Containerd } from '../fixtures/containerd';
import { ContainerState, criClient, NamespaceMode, PodSandboxState, type CriClient } from '../fixtures/cri';
import { isRoot, REPO_ROOT, RUN_ID, tempDir } from '../fixtures/env';
import { busyboxBaseEntries, layerTar, writeDockerArchive } from '../fixtures/image-builder';
import { eventually, killPid, mountsUnder, parentCgroupsOf, processesInCgroupOf, shimProcesses } from '../fixtures/shim';

const CRI_NS = 'k8s.io';
const IMAGE = `hutch.test/busybox-pause:${RUN_ID}`;

describe('Kubernetes CRI with the hutch runtime handler', { skip: !isRoot() && 'needs root to run containerd' }, () => {
  let cd: Containerd;
  let cri: CriClient;
  let work: string;
  let shimRoot: string;
  let socketDir: string;
  let sandboxId = '';
  let containerId = '';
  const podConfig = () => ({
    metadata: { name: `pod-${RUN_ID}`, uid: `uid-${RUN_ID}`, namespace: 'hutch-test', attempt: 0 },
    // no hostname: the kubelet sends none for a pod on the host's network (no UTS namespace)
    logDirectory: path.join(work, 'logs'),
    linux: { securityContext: { namespaceOptions: { network: NamespaceMode.NODE, pid: NamespaceMode.POD, ipc: NamespaceMode.POD } } },
  });
  /** our serving shims: those started with this test's socket directory */
  const ourShims = (): number[] =>
    shimProcesses(`-namespace ${CRI_NS} `).filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/environ`, 'utf8').includes(`HUTCH_SHIM_SOCKET_DIR=${socketDir}\0`);
      } catch {
        return false;
      }
    });
  const bundleOf = (id: string): string => path.join(cd.state, 'io.containerd.runtime.v2.task', CRI_NS, id);

  // CRI puts pods under /k8s.io when no cgroup parent is given
  let removeParentCgroups = (): void => undefined;

  before(async () => {
    removeParentCgroups = parentCgroupsOf(CRI_NS);
    work = tempDir('shim-cri');
    shimRoot = path.join(work, 'run-hutch');
    socketDir = tempDir('sc');
    fs.mkdirSync(path.join(work, 'logs'));
    fs.mkdirSync(path.join(work, 'cni-conf'));
    // a pause-like image: busybox whose entrypoint only sleeps
    const archive = path.join(work, 'image.tar');
    await writeDockerArchive(archive, { name: IMAGE, layers: [await layerTar(busyboxBaseEntries())], config: { Entrypoint: ['/bin/sleep', '2147483647'], Cmd: null } });
    cd = await startContainerd('shim-cri', {
      cri: true,
      pathPrefix: [path.join(REPO_ROOT, 'bin')],
      env: { HUTCH_SHIM_SOCKET_DIR: socketDir, HUTCH_SHIM_ROOT: shimRoot },
      extraConfig: [
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = ${JSON.stringify(IMAGE)}`,
        '  disable_tcp_service = true',
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        '  enable_selinux = false',
        '  disable_apparmor = true',
        // the sandbox asks for oom_score_adj -998, which needs CAP_SYS_RESOURCE (this
        // machine's root lacks it, runc fails alike): keep scores at containerd's or above
        '  restrict_oom_score_adj = true',
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.hutch]',
        '      runtime_type = "io.containerd.hutch.v2"',
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        '    bin_dir = "/usr/lib/cni"',
        `    conf_dir = ${JSON.stringify(path.join(work, 'cni-conf'))}`,
      ].join('\n'),
    });
    cd.ctr(['-n', CRI_NS, 'images', 'import', archive], { timeoutMs: 120_000 });
    cri = criClient(cd.address);
    let lastError = '';
    const answers = (): Promise<boolean> =>
      cri.version({ version: 'v1' }, 5000).then(
        () => true,
        (e: Error) => ((lastError = e.message), false),
      );
    assert.ok(await eventually(answers, 100, 100), `CRI does not answer: ${lastError}\n${cd.log().split('\n').filter((l) => /level=(error|fatal|warning)|grpc.v1.cri/.test(l)).join('\n')}`);
  });

  after(async () => {
    if (cri && sandboxId) {
      await cri.stopPodSandbox({ podSandboxId: sandboxId }).catch(() => undefined);
      await cri.removePodSandbox({ podSandboxId: sandboxId }).catch(() => undefined);
    }
    cri?.close();
    for (const pid of ourShims()) killPid(pid, 9);
    await cd?.stop();
    fs.rmSync(socketDir, { recursive: true, force: true });
    removeParentCgroups();
  });

  it('runs a pod sandbox with handler "hutch" and a container in it, from one shim', async () => {
    const version = await cri.version({ version: 'v1' });
    assert.equal(version.runtimeName, 'containerd');
    const image = await cri.imageStatus({ image: { image: IMAGE } });
    assert.ok(image.image?.id, 'the imported image is visible to CRI');

    sandboxId = (await cri.runPodSandbox({ config: podConfig(), runtimeHandler: 'hutch' })).podSandboxId;
    const status = await cri.podSandboxStatus({ podSandboxId: sandboxId });
    assert.equal(status.status?.state, PodSandboxState.SANDBOX_READY);
    assert.equal(status.status?.runtimeHandler, 'hutch');
    assert.equal(shimProcesses(` -id ${sandboxId} `).length, 1, 'the sandbox runs under containerd-shim-hutch-v2');

    containerId = (
      await cri.createContainer({
        podSandboxId: sandboxId,
        config: {
          metadata: { name: 'app', attempt: 0 },
          image: { image: IMAGE },
          command: ['sh', '-c', 'echo app started; exec sleep 100000'],
          logPath: 'app.log',
          linux: {
            resources: { memoryLimitInBytes: 64 * 1024 * 1024 },
            securityContext: { namespaceOptions: { network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD } },
          },
        },
        sandboxConfig: podConfig(),
      })
    ).containerId;
    await cri.startContainer({ containerId });
    const st = await cri.containerStatus({ containerId });
    assert.equal(st.status?.state, ContainerState.CONTAINER_RUNNING);
    // the pod's containers share the sandbox's shim (grouped by io.kubernetes.cri.sandbox-id)
    assert.equal(fs.readFileSync(path.join(bundleOf(containerId), 'address'), 'utf8'), fs.readFileSync(path.join(bundleOf(sandboxId), 'address'), 'utf8'));
    assert.equal(ourShims().length, 1);
    const log = path.join(work, 'logs', 'app.log');
    assert.ok(await eventually(() => fs.existsSync(log) && fs.readFileSync(log, 'utf8').includes('stdout F app started')), 'the container log has its output');
  });

  it('ExecSync returns the command output and exit code', async () => {
    const r = await cri.execSync({ containerId, cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], timeout: 60 });
    assert.equal(Buffer.from(r.stdout).toString(), 'out\n');
    assert.equal(Buffer.from(r.stderr).toString(), 'err\n');
    assert.equal(r.exitCode, 3);
    const ok = await cri.execSync({ containerId, cmd: ['cat', '/proc/1/cmdline'], timeout: 60 });
    assert.equal(ok.exitCode, 0);
    assert.equal(Buffer.from(ok.stdout).toString().replace(/\0/g, ' ').trim(), 'sleep 100000', 'exec joins the container, not the sandbox');
  });

  it('ContainerStats reports CPU and memory from the cgroup', async () => {
    const { stats } = await cri.containerStats({ containerId });
    assert.equal(stats?.attributes?.id, containerId);
    assert.ok(Number(stats?.memory?.workingSetBytes?.value ?? 0) > 0, `working set ${JSON.stringify(stats?.memory)}`);
    assert.ok(stats?.cpu?.usageCoreNanoSeconds, 'cpu usage present');
    assert.ok(Number(stats?.memory?.availableBytes?.value ?? 0) <= 64 * 1024 * 1024, 'available is under the 64 MiB limit');
  });

  it('StopPodSandbox and RemovePodSandbox leave nothing behind', async () => {
    await cri.stopPodSandbox({ podSandboxId: sandboxId });
    const st = await cri.containerStatus({ containerId });
    assert.equal(st.status?.state, ContainerState.CONTAINER_EXITED);
    assert.equal(st.status?.exitCode, 137);
    await cri.removePodSandbox({ podSandboxId: sandboxId });
    assert.equal((await cri.listContainers({})).containers.length, 0);
    assert.equal((await cri.listPodSandbox({})).items.length, 0);
    const ids = [sandboxId, containerId];
    sandboxId = '';
    const left = (): string[] => [
      ...ourShims().map((p) => `shim ${p}`),
      ...ids.flatMap((id) => processesInCgroupOf(id).map((p) => `process ${p} of ${id}`)),
      ...ids.filter((id) => fs.existsSync(path.join(shimRoot, CRI_NS, id))).map((id) => `runtime state of ${id}`),
      ...ids.filter((id) => fs.existsSync(bundleOf(id))).map((id) => `bundle of ${id}`),
      ...mountsUnder(cd.dir).map((m) => `mount ${m}`),
      ...fs.readdirSync(socketDir).map((s) => `socket ${s}`),
    ];
    assert.ok(await eventually(() => left().length === 0), left().join(', '));
  });
});
