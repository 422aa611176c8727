/**
 * A route-netlink socket in one network namespace, one request at a time (replies
 * are matched by sequence number, so requests on one socket must not overlap).
 *
 * Example:
 *   const nl = NetlinkSocket.open('/proc/1234/ns/net');
 *   try { await nl.request(linkUp('lo'), 'bring lo up'); } finally { nl.close(); }
 */
import * as fs from 'node:fs';
import { native } from '../../../addon';
import { errnoText, HutchError } from '../../../runtime/errors';
import { getLink, parseLink, type LinkInfo } from './rtnetlink';

export class NetlinkSocket {
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly fd: number,
    private readonly op: string,
  ) {}

  /** In the namespace at `netnsPath` (null: the caller's). */
  static open(op: string, netnsPath: string | null): NetlinkSocket {
    try {
      return new NetlinkSocket(native().netlinkOpen(netnsPath), op);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new HutchError(op, `open netlink socket${netnsPath ? ` in ${netnsPath}` : ''}: ${err.message}`, {
        step: err.syscall ?? 'netlink',
        errno: err.code,
        path: netnsPath ?? undefined,
      });
    }
  }

  /** Sends `message`; `what` names the step in an error ("create veth hv1a2b"). */
  request(message: Buffer, what: string): Promise<Buffer[]> {
    const run = async (): Promise<Buffer[]> => {
      try {
        return await native().netlinkRequest(this.fd, message);
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { detail?: string };
        const base = err.code ? errnoText(err.code) : err.message;
        const text = err.detail ? `${base} (${err.detail})` : base;
        throw new HutchError(this.op, `${what}: ${text}`, { step: what, errno: err.code });
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The link called `name`, or undefined when there is none. */
  async link(name: string): Promise<LinkInfo | undefined> {
    try {
      const [reply] = await this.request(getLink(name), `look up link ${name}`);
      return reply ? parseLink(reply) : undefined;
    } catch (e) {
      if (e instanceof HutchError && e.errno === 'ENODEV') return undefined;
      throw e;
    }
  }

  close(): void {
    try {
      fs.closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}
