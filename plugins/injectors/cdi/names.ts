/**
 * CDI device names: fully qualified `vendor/class=name`, and the annotations that
 * request them (`cdi.k8s.io/<anything>` and hutch's `io.hutch.cdi.devices`, both a
 * comma-separated list of qualified names).
 *
 * Example: parseQualifiedName('nvidia.com/gpu=0') → { vendor: 'nvidia.com', class: 'gpu', name: '0' }
 */
import { HutchError } from '../../../runtime/errors';
import { CDI_ANNOTATION_PREFIX, CDI_DEVICES_ANNOTATION } from '../../builtins';

const VENDOR_OR_CLASS = /^[A-Za-z]([A-Za-z0-9_.-]*[A-Za-z0-9])?$/;
const DEVICE_NAME = /^[A-Za-z0-9]([A-Za-z0-9_.:-]*[A-Za-z0-9])?$/;

export interface QualifiedName {
  vendor: string;
  class: string;
  name: string;
}

/** Why a vendor, class or device name is invalid; undefined when it is valid. */
export function checkVendor(vendor: string): string | undefined {
  return VENDOR_OR_CLASS.test(vendor) ? undefined : `invalid vendor "${vendor}" (a letter first, a letter or digit last, letters, digits, "_", ".", "-" between)`;
}

export function checkClass(cls: string): string | undefined {
  return VENDOR_OR_CLASS.test(cls) ? undefined : `invalid class "${cls}" (a letter first, a letter or digit last, letters, digits, "_", ".", "-" between)`;
}

export function checkDeviceName(name: string): string | undefined {
  return DEVICE_NAME.test(name) ? undefined : `invalid device name "${name}" (a letter or digit first and last, letters, digits, "_", ".", ":", "-" between)`;
}

/** Splits `vendor/class=name`; returns the problem as a string when it is not one. */
export function parseQualifiedName(device: string): QualifiedName | string {
  const eq = device.indexOf('=');
  const slash = device.indexOf('/');
  if (slash <= 0 || eq <= slash + 1 || eq === device.length - 1) return `"${device}" is not a fully qualified CDI device name (vendor/class=name)`;
  const q = { vendor: device.slice(0, slash), class: device.slice(slash + 1, eq), name: device.slice(eq + 1) };
  return checkVendor(q.vendor) ?? checkClass(q.class) ?? checkDeviceName(q.name) ?? q;
}

/**
 * The devices a container asks for, in a stable order (annotation keys sorted, then
 * hutch's annotation), each once.
 */
export function requestedDevices(annotations: Record<string, string>): string[] {
  const keys = Object.keys(annotations)
    .filter((k) => k.startsWith(CDI_ANNOTATION_PREFIX))
    .sort();
  if (CDI_DEVICES_ANNOTATION in annotations) keys.push(CDI_DEVICES_ANNOTATION);
  const out: string[] = [];
  for (const key of keys) {
    for (const part of annotations[key].split(',')) {
      const device = part.trim();
      if (!device) continue;
      const parsed = parseQualifiedName(device);
      if (typeof parsed === 'string') {
        throw new HutchError('', `annotation ${key}: ${parsed}`, { kind: 'invalid-argument', field: `annotations["${key}"]` });
      }
      if (!out.includes(device)) out.push(device);
    }
  }
  return out;
}
