/** Reads and validates <bundle>/config.json. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HutchError } from '../errors';
import type { Spec } from '../spec/types';
import { validateSpec } from '../spec/validate';

export function loadBundleSpec(op: string, bundle: string): Spec {
  const file = path.join(bundle, 'config.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') {
      const what = fs.existsSync(bundle) ? file : bundle;
      throw new HutchError(op, `--bundle: ${what}: no such file or directory`, { kind: 'invalid-argument', errno: 'ENOENT', field: '--bundle', path: what });
    }
    throw new HutchError(op, `read ${file}: ${err.message}`, { errno: err.code, path: file });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new HutchError(op, `config.json: not valid JSON: ${(e as Error).message}`, { kind: 'invalid-argument', field: 'config.json' });
  }
  return validateSpec(op, raw, bundle);
}
