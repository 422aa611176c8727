# Shared by bench/*: hyperfine side by side, then the ratios. Source it.
# hutch's launchers drop NODE_EXTRA_CA_CERTS (Node parses that bundle at every start);
# the `node -e 0` floor must start the same way.
unset NODE_EXTRA_CA_CERTS
BENCH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# ratios JSON NAME_A NAME_B...: prints mean times and ratios of each command to the first "peer" entry
ratios() {
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).results;
    const ms = (x) => x.mean * 1000;
    for (const x of r) console.log(`${x.command.padEnd(60)} ${ms(x).toFixed(1).padStart(8)} ms ± ${(x.stddev * 1000).toFixed(1)}`);
    const by = (name) => r.find((x) => x.command.includes(name));
    const pairs = JSON.parse(process.argv[2]);
    for (const [label, a, b, floor] of pairs) {
      const A = by(a), B = by(b), F = floor ? by(floor) : null;
      if (!A || !B) continue;
      let line = `${label}: ${(ms(A) / ms(B)).toFixed(2)}x`;
      if (F) line += `; above the ${floor} floor: ${(ms(A) - ms(F)).toFixed(1)} ms = ${((ms(A) - ms(F)) / ms(B)).toFixed(2)}x`;
      console.log(line);
    }' "$@"
}
