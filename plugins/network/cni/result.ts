/** CNI results (0.1.0 to 1.0.0) as hutch's NetworkResult. */
import type { NetworkResult } from '../plugin';

type Json = Record<string, unknown>;

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function arr(v: unknown): Json[] {
  return Array.isArray(v) ? (v.filter((x) => typeof x === 'object' && x !== null) as Json[]) : [];
}

/** "1.0.0" ≥ "0.4.0" */
export function versionAtLeast(version: string, min: string): boolean {
  const a = version.split('.').map((x) => Number(x) || 0);
  const b = min.split('.').map((x) => Number(x) || 0);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

export function toNetworkResult(result: Json): Pick<NetworkResult, 'interfaces' | 'ips' | 'routes' | 'dns'> {
  const dnsIn = (result.dns ?? {}) as Json;
  const dns = {
    ...(Array.isArray(dnsIn.nameservers) ? { nameservers: dnsIn.nameservers as string[] } : {}),
    ...(Array.isArray(dnsIn.search) ? { search: dnsIn.search as string[] } : {}),
  };
  if (result.ips === undefined && (result.ip4 !== undefined || result.ip6 !== undefined)) {
    // 0.1.0 / 0.2.0: ip4 and ip6 objects, no interfaces
    const ips: NetworkResult['ips'] = [];
    const routes: NonNullable<NetworkResult['routes']> = [];
    for (const key of ['ip4', 'ip6']) {
      const ipc = result[key] as Json | undefined;
      if (!ipc) continue;
      const address = str(ipc.ip);
      if (address) ips.push({ address, ...(str(ipc.gateway) ? { gateway: str(ipc.gateway) } : {}) });
      for (const r of arr(ipc.routes)) if (str(r.dst)) routes.push({ dst: str(r.dst) as string, ...(str(r.gw) ? { gw: str(r.gw) } : {}) });
    }
    return { interfaces: [], ips, routes, dns };
  }
  return {
    interfaces: arr(result.interfaces).map((i) => ({
      name: str(i.name) ?? '',
      ...(str(i.mac) ? { mac: str(i.mac) } : {}),
      ...(str(i.sandbox) ? { sandbox: str(i.sandbox) } : {}),
    })),
    ips: arr(result.ips)
      .filter((i) => str(i.address))
      .map((i) => ({
        address: str(i.address) as string,
        ...(str(i.gateway) ? { gateway: str(i.gateway) } : {}),
        ...(typeof i.interface === 'number' ? { interface: i.interface } : {}),
      })),
    routes: arr(result.routes)
      .filter((r) => str(r.dst))
      .map((r) => ({ dst: str(r.dst) as string, ...(str(r.gw) ? { gw: str(r.gw) } : {}) })),
    dns,
  };
}
