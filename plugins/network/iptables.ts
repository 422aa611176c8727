/**
 * iptables through `iptables-restore --noflush` (one process and one atomic commit
 * per change, however many rules) and `iptables-save` (to find rules by their
 * comment tag). Every rule hutch adds carries `-m comment --comment "hutch:..."`.
 *
 * Example:
 *   await restoreRules('setup', 'publish ports', { nat: ['-A HUTCH-DNAT-hutch0 ... -m comment --comment "hutch:hutch0:c1" ...'] });
 *   await deleteTagged('teardown', (tag) => tag === 'hutch:hutch0:c1');
 */
import { HutchError } from '../../runtime/errors';
import { hostTool, spawnTied } from './spawn';

export type Table = 'nat' | 'filter';
export type RuleLines = Partial<Record<Table, string[]>>;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(op: string, cmd: string, args: string[], input?: string): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawnTied(hostTool(cmd), args);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(new HutchError(op, `run ${cmd}: ${err.message} (is iptables installed?)`, { step: cmd, errno: err.code, path: hostTool(cmd) })),
    );
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.on('error', () => undefined); // a tool that exits early closes its stdin
    child.stdin.end(input ?? '');
  });
}

function restoreInput(rules: RuleLines): string {
  let text = '';
  for (const table of ['nat', 'filter'] as Table[]) {
    const lines = rules[table];
    if (!lines?.length) continue;
    text += `*${table}\n${lines.join('\n')}\nCOMMIT\n`;
  }
  return text;
}

/** Exit status 4: another process changed the ruleset during our commit (nft) or held the lock. */
function isContention(r: RunResult): boolean {
  return r.code === 4 || /temporarily unavailable|another app is currently holding/i.test(r.stderr);
}

/** Applies `rules` in one commit; all or nothing. `what` names the step in an error. */
export async function restoreRules(op: string, what: string, rules: RuleLines): Promise<void> {
  const input = restoreInput(rules);
  if (!input) return;
  for (let attempt = 0; ; attempt++) {
    const r = await run(op, 'iptables-restore', ['-w', '10', '--noflush'], input);
    if (r.code === 0) return;
    if (isContention(r) && attempt < 20) continue;
    const detail = r.stderr.trim().split('\n').filter(Boolean).slice(-2).join('; ');
    throw new HutchError(op, `${what}: iptables-restore failed: ${detail || `exit status ${r.code}`}`, { step: 'iptables' });
  }
}

/** The `-A ...` lines and chain names of a table, as iptables-save prints them. */
export async function saveTable(op: string, table: Table): Promise<{ chains: string[]; rules: string[] }> {
  const r = await run(op, 'iptables-save', ['-t', table]);
  if (r.code !== 0) throw new HutchError(op, `iptables-save -t ${table} failed: ${r.stderr.trim()}`, { step: 'iptables' });
  const lines = r.stdout.split('\n');
  return {
    chains: lines.filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]),
    rules: lines.filter((l) => l.startsWith('-A ')),
  };
}

/** The comment of a saved rule line, quoted or not. */
export function commentOf(line: string): string | undefined {
  const m = /--comment (?:"((?:[^"\\]|\\.)*)"|(\S+))/.exec(line);
  return m ? (m[1] ?? m[2]) : undefined;
}

/**
 * Deletes every rule whose comment matches, and then the given (now empty)
 * chains. Rules that are already gone are fine.
 */
export async function deleteTagged(
  op: string,
  matches: (comment: string) => boolean,
  chainsToRemove: Partial<Record<Table, string[]>> = {},
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const rules: RuleLines = {};
    for (const table of ['nat', 'filter'] as Table[]) {
      const saved = await saveTable(op, table);
      const lines = saved.rules.filter((l) => {
        const c = commentOf(l);
        return c !== undefined && matches(c);
      });
      const dels = lines.map((l) => `-D ${l.slice(3)}`);
      const chains = (chainsToRemove[table] ?? []).filter((c) => saved.chains.includes(c));
      // flush first: a chain may still hold rules someone added by hand
      rules[table] = [...dels, ...chains.map((c) => `-F ${c}`), ...chains.map((c) => `-X ${c}`)];
    }
    try {
      await restoreRules(op, 'remove iptables rules', rules);
      return;
    } catch (e) {
      // a concurrent teardown removed one of the same lines between save and restore
      if (attempt >= 5) throw e;
    }
  }
}

/** Deletes exactly these rules (the `-A` form), tolerating ones already gone. */
export async function deleteRules(op: string, rules: RuleLines, fallback: (comment: string) => boolean): Promise<void> {
  const dels: RuleLines = {};
  for (const table of ['nat', 'filter'] as Table[]) dels[table] = (rules[table] ?? []).map((l) => `-D ${l.replace(/^-A /, '')}`);
  try {
    await restoreRules(op, 'remove iptables rules', dels);
  } catch {
    await deleteTagged(op, fallback);
  }
}
