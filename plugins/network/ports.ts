/**
 * Published ports: the `io.hutch.ports` annotation and a check that a host port is
 * free before it is taken.
 *
 * Example:
 *   parsePorts('8080:80,5353:53/udp')
 *   // [{ host: 8080, container: 80, protocol: 'tcp' }, { host: 5353, container: 53, protocol: 'udp' }]
 */
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { HutchError } from '../../runtime/errors';

export const PORTS_ANNOTATION = 'io.hutch.ports';

export interface PortMapping {
  host: number;
  container: number;
  protocol: 'tcp' | 'udp';
}

function portNumber(op: string, item: string, what: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new HutchError(op, `${PORTS_ANNOTATION}: "${item}": ${what} port "${text}" is not a number from 1 to 65535`, {
      kind: 'invalid-argument',
      field: PORTS_ANNOTATION,
    });
  }
  return Number(text);
}

/** `HOST:CONTAINER[/tcp|udp][,...]`; an empty value publishes nothing. */
export function parsePorts(value: string | undefined, op = 'create'): PortMapping[] {
  if (value === undefined || value.trim() === '') return [];
  const out: PortMapping[] = [];
  for (const raw of value.split(',')) {
    const item = raw.trim();
    const m = /^([^:/]*):([^:/]*)(?:\/(.*))?$/.exec(item);
    if (!m) {
      throw new HutchError(op, `${PORTS_ANNOTATION}: "${item}" is not HOST:CONTAINER[/tcp|udp]`, {
        kind: 'invalid-argument',
        field: PORTS_ANNOTATION,
      });
    }
    const protocol = (m[3] ?? 'tcp').toLowerCase();
    if (protocol !== 'tcp' && protocol !== 'udp') {
      throw new HutchError(op, `${PORTS_ANNOTATION}: "${item}": protocol "${m[3]}" is not tcp or udp`, {
        kind: 'invalid-argument',
        field: PORTS_ANNOTATION,
      });
    }
    const mapping: PortMapping = { host: portNumber(op, item, 'host', m[1]), container: portNumber(op, item, 'container', m[2]), protocol };
    if (out.some((p) => p.host === mapping.host && p.protocol === mapping.protocol)) {
      throw new HutchError(op, `${PORTS_ANNOTATION}: host port ${mapping.host}/${protocol} is published twice`, {
        kind: 'invalid-argument',
        field: PORTS_ANNOTATION,
      });
    }
    out.push(mapping);
  }
  return out;
}

export function formatPorts(ports: PortMapping[]): string {
  return ports.map((p) => `${p.host}:${p.container}/${p.protocol}`).join(',');
}

/**
 * Resolves when nothing on the host listens on `port` (any address): binds the
 * wildcard address for a moment, which Linux refuses while any socket holds the port.
 */
export function checkHostPortFree(op: string, port: PortMapping): Promise<void> {
  const inUse = (err: NodeJS.ErrnoException): HutchError =>
    new HutchError(op, `${PORTS_ANNOTATION}: host port ${port.host}/${port.protocol} is already in use on the host`, {
      kind: 'already-exists',
      errno: err.code,
      field: PORTS_ANNOTATION,
    });
  return new Promise((resolve, reject) => {
    if (port.protocol === 'tcp') {
      const server = net.createServer();
      server.once('error', (err: NodeJS.ErrnoException) => reject(inUse(err)));
      server.listen({ port: port.host, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve()));
    } else {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: false });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        socket.close();
        reject(inUse(err));
      });
      socket.bind({ port: port.host, address: '0.0.0.0', exclusive: true }, () => socket.close(() => resolve()));
    }
  });
}
