/** Shared by the TypeScript benches. */

/**
 * The median of `xs`. 'lower' (the default): the middle element, the upper of the two
 * middle ones for an even count. 'mean': the mean of the two middle ones for an even count.
 */
export function median(xs: number[], even: 'lower' | 'mean' = 'lower'): number {
  const s = [...xs].sort((a, b) => a - b);
  if (even === 'mean') return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return s[Math.floor(s.length / 2)];
}
