/**
 * tar-stream, with one fix: it decodes every PAX record value as UTF-8, which mangles
 * binary xattr values (`SCHILY.xattr.security.capability` is raw bytes). We keep
 * `SCHILY.xattr.*` values as latin1 strings (one char per byte) so
 * `Buffer.from(value, 'latin1')` gives back the exact bytes. Done by replacing
 * `decodePax` on tar-stream's headers module, which its extractor looks up per call.
 */
import * as path from 'node:path';
import * as tar from 'tar-stream';

export const XATTR_PREFIX = 'SCHILY.xattr.';

function decodePax(buf: Buffer): Record<string, string> {
  const result: Record<string, string> = {};
  while (buf.length) {
    let i = 0;
    while (i < buf.length && buf[i] !== 32) i++;
    const len = parseInt(buf.subarray(0, i).toString('utf8'), 10);
    if (!len) return result;
    const record = buf.subarray(i + 1, len - 1);
    const eq = record.indexOf(0x3d); // '='
    if (eq === -1) return result;
    const key = record.subarray(0, eq).toString('utf8');
    const value = record.subarray(eq + 1);
    result[key] = key.startsWith(XATTR_PREFIX) ? value.toString('latin1') : value.toString('utf8');
    buf = buf.subarray(len);
  }
  return result;
}

let patched = false;

/** tar-stream's extractor with byte-exact xattr values. */
export function tarExtract(): tar.Extract {
  if (!patched) {
    // tar-stream's package exports hide headers.js; it is the file next to index.js.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const headers = require(path.join(path.dirname(require.resolve('tar-stream')), 'headers.js')) as { decodePax: typeof decodePax };
    headers.decodePax = decodePax;
    patched = true;
  }
  return tar.extract();
}
