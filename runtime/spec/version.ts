/**
 * Which config.json ociVersion values hutch accepts: every 1.x from 1.0.0 (with
 * pre-release suffixes such as runc's "1.0.2-dev"); 2.x and malformed versions are
 * refused, because a major version may change meanings silently.
 */
import { invalidField } from '../errors';

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export const OCI_VERSION_MIN = '1.0.0';

export function checkOciVersion(op: string, version: unknown): void {
  if (typeof version !== 'string') throw invalidField(op, 'ociVersion', 'missing or not a string');
  const m = SEMVER.exec(version);
  if (!m) throw invalidField(op, 'ociVersion', `"${version}" is not a semantic version`);
  const major = Number(m[1]);
  if (major !== 1) throw invalidField(op, 'ociVersion', `unsupported version "${version}": hutch supports 1.0.0 up to 1.x`);
  // 1.0.0-rc* predates 1.0.0 and had different fields
  if (m[2] === '0' && m[3] === '0' && m[4] && /^rc/.test(m[4])) {
    throw invalidField(op, 'ociVersion', `unsupported pre-release "${version}": hutch supports 1.0.0 up to 1.x`);
  }
}
