/**
 * Go (RE2) regular expressions, as hooks.d files write them, run with JavaScript's
 * RegExp. Matching is unanchored, as Go's regexp.MatchString. The RE2 syntax that
 * JavaScript spells differently is translated: leading flag groups `(?i)`, `(?s)`,
 * `(?m)`; named groups `(?P<name>…)`; `\A` and `\z`; POSIX classes `[[:alpha:]]`.
 *
 * Example: goRegexp('(?i)^/usr/bin/NVIDIA').test('/usr/bin/nvidia-smi') === true
 */
const POSIX_CLASSES: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

export function goRegexp(pattern: string): RegExp {
  let flags = '';
  let body = pattern;
  const lead = /^\(\?([imsU]+)\)/.exec(body);
  if (lead) {
    if (lead[1].includes('U')) throw new SyntaxError(`flag U (ungreedy) is not supported in "${pattern}"`);
    flags = [...new Set(lead[1])].join('');
    body = body.slice(lead[0].length);
  }
  body = body
    .replace(/\(\?P</g, '(?<')
    .replace(/\\A/g, '^')
    .replace(/\\z/g, '$(?![\\s\\S])')
    .replace(/\[:(\^?)([a-z]+):\]/g, (_whole, negate: string, name: string) => {
      const cls = POSIX_CLASSES[name];
      if (!cls) throw new SyntaxError(`unknown POSIX class [:${name}:] in "${pattern}"`);
      if (negate) throw new SyntaxError(`negated POSIX class [:^${name}:] is not supported in "${pattern}"`);
      return cls;
    });
  // \z must not be affected by the m flag; with m, "$(?![\s\S])" still means end of input.
  return new RegExp(body, flags);
}
