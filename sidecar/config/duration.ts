// Go-style duration strings ("250ms", "1m30s") → milliseconds. The contract's pattern guarantees the shape.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseDuration(text: string): number {
  let total = 0;
  let matched = '';
  for (const m of text.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    matched += m[0];
  }
  if (matched !== text || matched === '') throw new Error(`invalid duration "${text}"`);
  return total;
}
