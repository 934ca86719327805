/** "Did you mean" suggestions for near-miss names. */
export function closest(name: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const threshold = Math.max(1, Math.floor(name.length / 3));
  return bestDistance <= threshold ? best : undefined;
}

export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const match = closest(name, candidates);
  return match === undefined ? undefined : `did you mean \`${match}\`?`;
}

/** A readable list of names for hints: `a`, `b` and `c`, or "none". */
export function listNames(names: readonly string[]): string {
  if (names.length === 0) return 'none';
  const quoted = names.map((n) => `\`${n}\``);
  return quoted.length === 1 ? quoted[0]! : `${quoted.slice(0, -1).join(', ')} and ${quoted.at(-1)}`;
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 8) return Infinity;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
