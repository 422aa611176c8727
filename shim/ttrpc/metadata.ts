/**
 * ttrpc request metadata: headers as repeated key/value pairs. Keys are lower-case
 * (the Go library lower-cases them); a key with several values is sent as several
 * pairs with the same key.
 */

/** The header containerd puts its namespace under on every call to a shim. */
export const NAMESPACE_KEY = 'containerd-namespace-ttrpc';

export type Metadata = Map<string, string[]>;

export interface KeyValuePair {
  key?: string | null;
  value?: string | null;
}

/** Builds metadata from a plain record: `{ 'containerd-namespace-ttrpc': 'default' }`. */
export function metadataOf(record: Record<string, string | string[]>): Metadata {
  const md: Metadata = new Map();
  for (const [key, value] of Object.entries(record)) {
    const k = key.toLowerCase();
    md.set(k, [...(md.get(k) ?? []), ...(Array.isArray(value) ? value : [value])]);
  }
  return md;
}

export function metadataFromPairs(pairs: readonly KeyValuePair[] | null | undefined): Metadata {
  const md: Metadata = new Map();
  for (const p of pairs ?? []) {
    const k = (p.key ?? '').toLowerCase();
    const list = md.get(k);
    if (list) list.push(p.value ?? '');
    else md.set(k, [p.value ?? '']);
  }
  return md;
}

export function metadataToPairs(md: Metadata | undefined): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  for (const [key, values] of md ?? []) for (const value of values) out.push({ key: key.toLowerCase(), value });
  return out;
}

/** The first value of a header, as Go's `GetMetadataValue`. */
export function metadataValue(md: Metadata, key: string): string | undefined {
  return md.get(key.toLowerCase())?.[0];
}
