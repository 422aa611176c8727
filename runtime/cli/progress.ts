/** A one-line progress bar on stderr, only when stderr is a terminal. */
export interface ProgressBar {
  update(done: number, total: number): void;
  done(): void;
}

export function progressBar(label: string): ProgressBar | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  let shown = false;
  const mib = (n: number): string => (n / 1048576).toFixed(1);
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 100 && done !== total) return; // redraw at most 10 times a second
      last = now;
      const width = 30;
      const frac = total > 0 ? Math.min(1, done / total) : 0;
      const bar = '#'.repeat(Math.round(frac * width)).padEnd(width, '.');
      process.stderr.write(`\r${label} [${bar}] ${mib(done)}/${mib(total)} MiB`);
      shown = true;
    },
    done() {
      if (shown) process.stderr.write('\n');
      shown = false;
    },
  };
}
