/**
 * The Kubernetes path: containerd 1.6's CRI plugin with a `hutch` runtime handler
 * (runtime_type io.containerd.hutch.v2), spoken to over gRPC as the kubelet would
 * (runtime.v1, our proto subset). A pod sandbox from a busybox-based pause image built
 * and imported here (no registry), a container in it, ExecSync, ContainerStats, then
 * StopPodSandbox and RemovePodSandbox — and nothing of it left afterwards.
 *
 * Networking: the first pod uses the host's network namespace; a second one gets its
 * own from CRI and Debian's CNI bridge plugin (a test bridge and subnet, IPAM state in
 * the test's directory, no NAT): the sandbox and its container share it, with the
 * address CRI reports.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startContainerd, type Containerd } from '../fixtures/containerd';
import { ContainerState, criClient, NamespaceMode, PodSandboxState, type CriClient } from '../fixtures/cri';
import { isRoot, REPO_ROOT, RUN_ID, tempDir } from '../fixtures/env';
import { busyboxBaseEntries, layerTar, writeDockerArchive } from '../fixtures/image-builder';
import { deleteLinkQuietly, linkExists, linkName, readIpForward, restoreIpForward, testSubnet } from '../fixtures/net';
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
  const bridge = linkName('hcri');
  const subnet = testSubnet('cri');
  const ipForward = readIpForward();
  let cniPod = '';
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
    fs.writeFileSync(
      path.join(work, 'cni-conf', '10-hutch-test.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: `hutch-test-${RUN_ID}`,
        plugins: [{ type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: path.join(work, 'ipam') } }],
      }),
    );
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
    for (const id of [sandboxId, cniPod].filter(Boolean)) {
      if (!cri) break;
      await cri.stopPodSandbox({ podSandboxId: id }).catch(() => undefined);
      await cri.removePodSandbox({ podSandboxId: id }).catch(() => undefined);
    }
    cri?.close();
    for (const pid of ourShims()) killPid(pid, 9);
    await cd?.stop();
    fs.rmSync(socketDir, { recursive: true, force: true });
    removeParentCgroups();
    // the CNI bridge plugin leaves its bridge; isGateway turns on forwarding
    deleteLinkQuietly(bridge);
    restoreIpForward(ipForward);
    assert.equal(linkExists(bridge), false);
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
  it('runs a pod on a CNI network: its containers join the sandbox namespace, with the address CRI reports', async () => {
    const config = {
      metadata: { name: `netpod-${RUN_ID}`, uid: `netuid-${RUN_ID}`, namespace: 'hutch-test', attempt: 0 },
      hostname: 'netpod',
      logDirectory: path.join(work, 'logs'),
      linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.POD, ipc: NamespaceMode.POD } } },
    };
    cniPod = (await cri.runPodSandbox({ config, runtimeHandler: 'hutch' })).podSandboxId;
    const podIp = (await cri.podSandboxStatus({ podSandboxId: cniPod })).status?.network?.ip ?? '';
    assert.equal(podIp.split('.').slice(0, 3).join('.'), subnet.split('.').slice(0, 3).join('.'), `pod ip ${podIp} in ${subnet}`);
    const app = (
      await cri.createContainer({
        podSandboxId: cniPod,
        config: { metadata: { name: 'app', attempt: 0 }, image: { image: IMAGE }, command: ['sleep', '100000'], logPath: 'netapp.log', linux: { securityContext: { namespaceOptions: { network: NamespaceMode.POD, pid: NamespaceMode.POD, ipc: NamespaceMode.POD } } } },
        sandboxConfig: config,
      })
    ).containerId;
    await cri.startContainer({ containerId: app });
    const r = await cri.execSync({ containerId: app, cmd: ['sh', '-c', 'ip -4 -o addr show eth0; hostname; readlink /proc/self/ns/net; readlink /proc/1/ns/net'], timeout: 60 });
    assert.equal(r.exitCode, 0, Buffer.from(r.stderr).toString());
    const [addr, hostname, ownNs, initNs] = Buffer.from(r.stdout).toString().trim().split('\n');
    assert.match(addr, new RegExp(`inet ${podIp.replace(/\./g, '\\.')}/24 `), 'the container has the pod address on eth0');
    assert.equal(hostname, 'netpod');
    assert.equal(ownNs, initNs, 'one network namespace for the pod (pid namespace shared: /proc/1 is the sandbox)');
    assert.notEqual(ownNs, fs.readlinkSync('/proc/self/ns/net'), 'not the host network');
    await cri.stopPodSandbox({ podSandboxId: cniPod });
    await cri.removePodSandbox({ podSandboxId: cniPod });
    const ids = [cniPod, app];
    cniPod = '';
    const left = (): string[] => [
      ...ourShims().map((p) => `shim ${p}`),
      ...ids.flatMap((id) => processesInCgroupOf(id).map((p) => `process ${p} of ${id}`)),
      ...fs.readdirSync(path.join(work, 'ipam', `hutch-test-${RUN_ID}`)).filter((f) => /^\d/.test(f)).map((f) => `address ${f}`),
    ];
    assert.ok(await eventually(() => left().length === 0), left().join(', '));
  });
});
