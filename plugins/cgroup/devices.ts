/**
 * Device access policy, shared by v1 (devices.allow/deny) and v2 (an eBPF program).
 *
 * The rules a container gets are runc's: start from "deny everything", apply the
 * spec's `linux.resources.devices` in order, and allow runc's default devices (null,
 * zero, full, random, urandom, tty, ptmx, pts, tun, mknod of anything) and the
 * spec's `linux.devices`. One deliberate difference: runc appends the defaults after
 * the spec's rules, so a spec can never deny /dev/null; hutch inserts them right after
 * the spec's last wildcard rule ("a"), so they survive a leading "deny all" as under
 * runc, yet a later rule of the spec can still deny one of them.
 *
 * The rules are folded the way the v1 kernel folds writes to devices.allow/deny
 * (an "a" rule resets the default and the exceptions; other rules add or remove
 * exceptions), so both versions enforce exactly the same set.
 *
 * Example:
 *   const state = emulate(effectiveRules(spec.linux?.resources?.devices, spec.linux?.devices));
 *   // → { defaultAllow: false, exceptions: [{ type: 'c', major: 1, minor: 3, access: 'rwm' }, …] }
 */
import type { BpfDeviceRule } from '../../addon';
import type { Device, DeviceRule } from '../../runtime/spec/types';

export interface DeviceException {
  type: 'b' | 'c';
  /** -1: any */
  major: number;
  /** -1: any */
  minor: number;
  /** letters of "rwm", in that order */
  access: string;
}

export interface DeviceState {
  /** true: everything but the exceptions is allowed; false: only the exceptions are */
  defaultAllow: boolean;
  exceptions: DeviceException[];
  /** v1 only: read from a devices.list that cannot show deny exceptions */
  exceptionsUnknown?: boolean;
}

function rule(type: 'b' | 'c', major: number, minor: number, access: string): DeviceRule {
  return { allow: true, type, major, minor, access };
}

/** runc's AllowedDevices (libcontainer/specconv). */
export const DEFAULT_ALLOWED_DEVICES: DeviceRule[] = [
  rule('c', -1, -1, 'm'),
  rule('b', -1, -1, 'm'),
  rule('c', 1, 3, 'rwm'), // /dev/null
  rule('c', 1, 8, 'rwm'), // /dev/random
  rule('c', 1, 7, 'rwm'), // /dev/full
  rule('c', 5, 0, 'rwm'), // /dev/tty
  rule('c', 1, 5, 'rwm'), // /dev/zero
  rule('c', 1, 9, 'rwm'), // /dev/urandom
  rule('c', 136, -1, 'rwm'), // /dev/pts/*
  rule('c', 5, 2, 'rwm'), // /dev/ptmx
  rule('c', 10, 200, 'rwm'), // /dev/net/tun
];

function isWildcardType(r: DeviceRule): boolean {
  return r.type === undefined || r.type === 'a';
}

/** The full ordered rule list for a container (see the module comment). */
export function effectiveRules(rules: DeviceRule[] | undefined, devices: Device[] | undefined): DeviceRule[] {
  const user = rules ?? [];
  const defaults = [
    ...DEFAULT_ALLOWED_DEVICES,
    ...(devices ?? [])
      .filter((d) => (d.type === 'c' || d.type === 'u' || d.type === 'b') && d.major !== undefined && d.minor !== undefined)
      .map((d) => rule(d.type === 'b' ? 'b' : 'c', d.major ?? -1, d.minor ?? -1, 'rwm')),
  ];
  let at = 0;
  user.forEach((r, i) => {
    if (isWildcardType(r)) at = i + 1;
  });
  return [...user.slice(0, at), ...defaults, ...user.slice(at)];
}

function normaliseAccess(access: string): string {
  return ['r', 'w', 'm'].filter((c) => access.includes(c)).join('');
}

function num(n: number | null | undefined): number {
  return n === undefined || n === null ? -1 : n;
}

function sameDevice(a: DeviceException, b: { type: string; major: number; minor: number }): boolean {
  return a.type === b.type && a.major === b.major && a.minor === b.minor;
}

/** Applies one rule to a state as the v1 kernel applies one write. */
export function applyRule(state: DeviceState, r: DeviceRule): DeviceState {
  if (isWildcardType(r)) return { defaultAllow: r.allow, exceptions: [] };
  const ex: DeviceException = { type: r.type === 'b' ? 'b' : 'c', major: num(r.major), minor: num(r.minor), access: normaliseAccess(r.access ?? 'rwm') };
  const exceptions = state.exceptions.map((e) => ({ ...e }));
  const existing = exceptions.find((e) => sameDevice(e, ex));
  if (r.allow === state.defaultAllow) {
    // back toward the default: the exception loses these access bits
    if (existing) existing.access = [...existing.access].filter((c) => !ex.access.includes(c)).join('');
    return { defaultAllow: state.defaultAllow, exceptions: exceptions.filter((e) => e.access !== '') };
  }
  if (existing) existing.access = normaliseAccess(existing.access + ex.access);
  else exceptions.push(ex);
  return { defaultAllow: state.defaultAllow, exceptions };
}

/** Folds rules from "deny everything" (runc's starting point). */
export function emulate(rules: DeviceRule[]): DeviceState {
  return rules.reduce<DeviceState>(applyRule, { defaultAllow: false, exceptions: [] });
}

/** Would the state allow this access ("r", "w", "m" or a mix)? Kernel v1 semantics. */
export function allows(state: DeviceState, type: 'b' | 'c', major: number, minor: number, access: string): boolean {
  const matches = (e: DeviceException): boolean => e.type === type && (e.major === -1 || e.major === major) && (e.minor === -1 || e.minor === minor);
  if (state.defaultAllow) return !state.exceptions.some((e) => matches(e) && [...access].some((c) => e.access.includes(c)));
  return state.exceptions.some((e) => matches(e) && [...access].every((c) => e.access.includes(c)));
}

export function formatException(e: { type: string; major: number; minor: number; access: string }): string {
  return `${e.type} ${e.major < 0 ? '*' : e.major}:${e.minor < 0 ? '*' : e.minor} ${e.access}`;
}

/** What a v1 devices.list says. In allow-all mode it lists only "a *:* rwm", hiding the deny exceptions. */
export function parseDevicesList(text: string): DeviceState {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.some((l) => l.startsWith('a '))) return { defaultAllow: true, exceptions: [], exceptionsUnknown: true };
  let state: DeviceState = { defaultAllow: false, exceptions: [] };
  for (const l of lines) {
    const m = /^([bc]) (\*|\d+):(\*|\d+) ([rwm]+)$/.exec(l);
    if (!m) continue;
    state = applyRule(state, { allow: true, type: m[1], major: m[2] === '*' ? -1 : Number(m[2]), minor: m[3] === '*' ? -1 : Number(m[3]), access: m[4] });
  }
  return state;
}

export interface DevicesWrite {
  file: 'devices.allow' | 'devices.deny';
  value: string;
}

/**
 * The v1 writes from `current` to `target`. Between two allow-lists only the
 * differences are written, so a running container never loses a device it keeps
 * (runc does the same); otherwise the default is reset first, then the exceptions.
 */
export function v1Transition(current: DeviceState, target: DeviceState): DevicesWrite[] {
  const toward = (allow: boolean): DevicesWrite['file'] => (allow ? 'devices.allow' : 'devices.deny');
  if (current.exceptionsUnknown || current.defaultAllow !== target.defaultAllow || target.defaultAllow) {
    return [
      { file: toward(target.defaultAllow), value: 'a' },
      ...target.exceptions.map((e) => ({ file: toward(!target.defaultAllow), value: formatException(e) })),
    ];
  }
  const out: DevicesWrite[] = [];
  for (const e of current.exceptions) {
    const kept = target.exceptions.find((t) => sameDevice(t, e));
    const lost = [...e.access].filter((c) => !kept?.access.includes(c)).join('');
    if (lost) out.push({ file: 'devices.deny', value: formatException({ ...e, access: lost }) });
  }
  for (const t of target.exceptions) {
    const had = current.exceptions.find((e) => sameDevice(e, t));
    const gained = [...t.access].filter((c) => !had?.access.includes(c)).join('');
    if (gained) out.push({ file: 'devices.allow', value: formatException({ ...t, access: gained }) });
  }
  return out;
}

/** The rule list of the v2 eBPF program for a state (all exceptions are the opposite of the default). */
export function bpfRules(state: DeviceState): BpfDeviceRule[] {
  return state.exceptions.map((e) => ({ type: e.type, major: e.major, minor: e.minor, access: e.access, allow: !state.defaultAllow }));
}
