/**
 * Closest-key suggestions for typos in configuration keys ("did you mean …?"). Pure.
 */

/** Edit distance (insertions, deletions, substitutions, adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  // Optimal string alignment distance; three rows are enough.
  let prev2: number[] = [];
  let prev: number[] = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur: number[] = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, prev2[j - 2]! + 1);
      cur.push(d);
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[b.length]!;
}

function normalise(key: string): string {
  return key
    .trim()
    .toLowerCase()
    .replace(/[-\s.]+/g, '_');
}

/**
 * The known key the user most likely meant, or undefined when none is reasonably close.
 * Matches, in order: the same key in another case or with dashes (`CLOUDFLARE-API-TOKEN`); the
 * only key that the input starts or ends as whole words (`interval` → `interval_seconds`,
 * `api_token` → `cloudflare_api_token`); the nearest key within about a third of its length
 * (`cloudfare_api_token`), or half of it when the first four letters agree (`proxy` → `proxied`).
 */
export function suggestKey(input: string, candidates: readonly string[]): string | undefined {
  const key = normalise(input);
  if (key === '') return undefined;
  const exact = candidates.find((c) => c === key);
  if (exact !== undefined) return exact;

  const affix = candidates.filter((c) => c.startsWith(`${key}_`) || c.endsWith(`_${key}`));
  if (affix.length === 1) return affix[0];

  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const d = editDistance(key, candidate);
    const longest = Math.max(key.length, candidate.length);
    // A third of the length, or half of it when the first four letters agree (`proxy` → `proxied`).
    const limit =
      key.length >= 5 && key.slice(0, 4) === candidate.slice(0, 4)
        ? Math.ceil(longest / 2)
        : Math.max(1, Math.floor(longest / 3));
    if (d <= limit && d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}
