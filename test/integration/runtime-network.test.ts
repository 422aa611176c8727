/**
 * Networking through `hutch run`: two busybox containers on a bridge of the test's
 * own (io.hutch.network=bridge) reach each other; a published port answers on the
 * host's 127.0.0.1; `hutch state` shows the address; delete leaves no veth, rule or
 * allocation.
 */
import assert = require('node:assert/strict');
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BridgePlugin } from '../../plugins/network/bridge/plugin';
import { makeBundle } from '../fixtures/busybox';
import { containerId, tempDir } from '../fixtures/env';
import { hutch, hutchAsync, leftovers } from '../fixtures/hutch';
import { freePort, httpGet, iptablesLinesWith, linkName, readIpForward, restoreIpForward, retry, testSubnet } from '../fixtures/net';

const work = tempDir('rt-net');
const root = path.join(work, 'state');
const bridge = linkName('hr');
const subnet = testSubnet('runtime');
const stateDir = path.join(work, 'net-state');
const config = path.join(work, 'config.json');
fs.writeFileSync(config, JSON.stringify({ network: { bridge: { name: bridge, subnet, stateDir } } }));
const ipForward = readIpForward();
let PORT = 0;

before(async () => {
  PORT = await freePort();
});

after(async () => {
  for (const id of fs.existsSync(root) ? fs.readdirSync(root) : []) hutch(root, ['--config', config, 'delete', '--force', id]);
  await new BridgePlugin({ name: bridge, subnet, stateDir }).removeNetwork({ force: true }).catch(() => undefined);
  restoreIpForward(ipForward);
});

function annotated(name: string, args: string[], annotations: Record<string, string>): string {
  return makeBundle(path.join(work, name), args, (s) => {
    s.annotations = annotations;
    s.root.readonly = false;
  });
}

describe('container networking', () => {
  it('connects containers on a bridge, publishes a port on 127.0.0.1, and cleans up', async () => {
    const web = containerId('web');
    const webBundle = annotated('web', ['sh', '-c', 'echo hello from the web > /tmp/index.html; exec httpd -f -p 80 -h /tmp'], {
      'io.hutch.network': 'bridge',
      'io.hutch.ports': `${PORT}:80`,
    });
    const running = hutchAsync(root, ['--config', config, 'run', '--bundle', webBundle, web]);
    const state = await retry(100, 50, () => {
      const s = JSON.parse(hutch(root, ['state', web]).stdout);
      if (s.status !== 'running') throw new Error(s.status);
      return s;
    });
    const address = (state.network?.ips?.[0]?.address as string).split('/')[0];
    assert.match(address, new RegExp(`^${subnet.split('.').slice(0, 3).join('\\.')}\\.`), 'hutch state shows the address from the pool');

    const page = await retry(50, 100, () => httpGet('127.0.0.1', PORT, '/index.html'));
    assert.equal(page, 'hello from the web\n', 'the host reaches the published port on 127.0.0.1');

    const client = annotated('client', ['sh', '-c', `wget -q -O - http://${address}/index.html; ip -o -4 addr show eth0 | wc -l`], { 'io.hutch.network': 'bridge' });
    const r = hutch(root, ['--config', config, 'run', containerId('client')], { cwd: client });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello from the web\n1\n', 'another container reaches it by address');

    assert.equal(hutch(root, ['--config', config, 'kill', web, 'KILL']).code, 0);
    await running;
    assert.deepEqual(leftovers(root, web, webBundle), []);
    assert.deepEqual(iptablesLinesWith(`hutch:${bridge}:`), [], 'no rule of a container is left');
    assert.deepEqual(fs.readdirSync(path.join(stateDir, 'networks', bridge, 'ips')), [], 'no address stays allocated');
    const veths = fs.readdirSync('/sys/class/net').filter((l) => fs.existsSync(`/sys/class/net/${l}/master`) && fs.readlinkSync(`/sys/class/net/${l}/master`).endsWith(`/${bridge}`));
    assert.deepEqual(veths, [], 'no veth is left on the bridge');
  });

  it('refuses a bad network annotation before anything is made', () => {
    const bundle = annotated('bad', ['true'], { 'io.hutch.network': 'bridge', 'io.hutch.ports': '99999:80' });
    const id = containerId('badnet');
    const r = hutch(root, ['--config', config, 'run', id], { cwd: bundle });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /io\.hutch\.ports/);
    assert.deepEqual(leftovers(root, id, bundle), []);
  });
});
