/**
 * The iptables rules of a bridge network. Each network has three chains of its own,
 * entered from the built-in chains by one tagged jump each:
 *
 *   nat    PREROUTING, OUTPUT (to local addresses) → HUTCH-DNAT-<bridge>: published ports
 *   nat    POSTROUTING → HUTCH-POST-<bridge>: masquerade egress; masquerade DNATed traffic
 *          that comes back into the bridge from a container (hairpin) or from the host's
 *          loopback (127.0.0.1:HOST, with route_localnet on the bridge)
 *   filter FORWARD → HUTCH-FWD-<bridge>: accept what leaves the bridge, replies into it,
 *          and published ports
 *
 * Network rules are tagged `hutch:<bridge>`, a container's `hutch:<bridge>:<id>`.
 */
import type { RuleLines } from '../iptables';
import type { PortMapping } from '../ports';

export function chains(bridge: string): { dnat: string; post: string; fwd: string } {
  return { dnat: `HUTCH-DNAT-${bridge}`, post: `HUTCH-POST-${bridge}`, fwd: `HUTCH-FWD-${bridge}` };
}

export function networkTag(bridge: string): string {
  return `hutch:${bridge}`;
}

export function containerTag(bridge: string, id: string): string {
  return `hutch:${bridge}:${id}`;
}

/** Rules added when the bridge is made (the chains are created by these lines). */
export function networkRules(bridge: string, subnet: string): RuleLines {
  const c = chains(bridge);
  const tag = `-m comment --comment "${networkTag(bridge)}"`;
  return {
    nat: [
      `:${c.dnat} - [0:0]`,
      `:${c.post} - [0:0]`,
      `-A PREROUTING -m addrtype --dst-type LOCAL ${tag} -j ${c.dnat}`,
      `-A OUTPUT -m addrtype --dst-type LOCAL ${tag} -j ${c.dnat}`,
      `-A POSTROUTING ${tag} -j ${c.post}`,
      `-A ${c.post} -s ${subnet} ! -o ${bridge} ${tag} -j MASQUERADE`,
      `-A ${c.post} -s ${subnet} -o ${bridge} -m conntrack --ctstate DNAT ${tag} -j MASQUERADE`,
      `-A ${c.post} -s 127.0.0.0/8 -o ${bridge} ${tag} -j MASQUERADE`,
    ],
    filter: [
      `:${c.fwd} - [0:0]`,
      `-A FORWARD ${tag} -j ${c.fwd}`,
      `-A ${c.fwd} -i ${bridge} ${tag} -j ACCEPT`,
      `-A ${c.fwd} -o ${bridge} -m conntrack --ctstate RELATED,ESTABLISHED ${tag} -j ACCEPT`,
    ],
  };
}

/** DNAT and accept rules for a container's published ports. */
export function portRules(bridge: string, id: string, ip: string, ports: PortMapping[]): RuleLines {
  const c = chains(bridge);
  const tag = `-m comment --comment "${containerTag(bridge, id)}"`;
  return {
    nat: ports.map((p) => `-A ${c.dnat} -p ${p.protocol} -m ${p.protocol} --dport ${p.host} ${tag} -j DNAT --to-destination ${ip}:${p.container}`),
    filter: ports.map(
      (p) => `-A ${c.fwd} -d ${ip}/32 -o ${bridge} -p ${p.protocol} -m ${p.protocol} --dport ${p.container} ${tag} -j ACCEPT`,
    ),
  };
}
