// Retry delay with full jitter (AWS architecture blog's "full jitter"): spreads retries of many
// clients instead of synchronising them.

export interface BackoffSettings { backoff: 'exponential' | 'constant'; baseMs: number; maxMs: number }

export function retryDelay(retry: number, s: BackoffSettings, random = Math.random): number {
  const ceiling = Math.min(s.maxMs, s.backoff === 'constant' ? s.baseMs : s.baseMs * 2 ** retry);
  return Math.round(ceiling * random());
}
