// Streaming clients: time to first byte of streamed chat completions, and many streams held open at once.

import { Agent, request } from 'undici';
import { summarize, type Summary } from './stats.ts';

export interface Target {
  url: string;
  headers: Record<string, string>;
  body: string;
}

interface OneStream {
  ok: boolean;
  /** ms from sending the request to the response headers. */
  headersMs: number;
  /** ms from sending the request to the first body chunk. */
  ttfbMs: number;
  /** ms to the end of the stream. */
  totalMs: number;
  error?: string;
}

async function oneStream(t: Target, dispatcher: Agent, onFirst?: () => void): Promise<OneStream> {
  const t0 = performance.now();
  let headersMs = Number.NaN;
  let ttfbMs = Number.NaN;
  try {
    const res = await request(t.url, { method: 'POST', headers: t.headers, body: t.body, dispatcher });
    headersMs = performance.now() - t0;
    let text = '';
    for await (const chunk of res.body) {
      if (Number.isNaN(ttfbMs)) {
        ttfbMs = performance.now() - t0;
        onFirst?.();
      }
      text += (chunk as Buffer).toString('utf8');
    }
    const totalMs = performance.now() - t0;
    const ok = res.statusCode === 200 && text.includes('data: [DONE]');
    return ok ? { ok, headersMs, ttfbMs, totalMs } : { ok, headersMs, ttfbMs, totalMs, error: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` };
  } catch (err) {
    return { ok: false, headersMs, ttfbMs, totalMs: performance.now() - t0, error: (err as Error).message };
  }
}

export interface TtfbResult {
  /** One request at a time. */
  sequential: { ttfbMs: Summary; headersMs: Summary; failures: number };
  /** `concurrency` workers, each sending requests back to back. */
  concurrent: { concurrency: number; ttfbMs: Summary; failures: number };
  firstError?: string;
}

/** N sequential streams, then `concurrency` × `perWorker` concurrent ones (after `warmup` discarded). */
export async function measureTtfb(t: Target, opts: { sequential: number; concurrency: number; perWorker: number; warmup: number }): Promise<TtfbResult> {
  const dispatcher = new Agent({ connections: opts.concurrency + 4, keepAliveTimeout: 30_000 });
  let firstError: string | undefined;
  const note = (r: OneStream): void => {
    if (!r.ok && firstError === undefined) firstError = r.error;
  };
  try {
    for (let i = 0; i < opts.warmup; i++) note(await oneStream(t, dispatcher));
    const seq: OneStream[] = [];
    for (let i = 0; i < opts.sequential; i++) {
      const r = await oneStream(t, dispatcher);
      note(r);
      seq.push(r);
    }
    const conc: OneStream[] = [];
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        for (let i = 0; i < opts.perWorker; i++) {
          const r = await oneStream(t, dispatcher);
          note(r);
          conc.push(r);
        }
      }),
    );
    const good = (rs: OneStream[]) => rs.filter((r) => r.ok);
    const out: TtfbResult = {
      sequential: {
        ttfbMs: summarize(good(seq).map((r) => r.ttfbMs)),
        headersMs: summarize(good(seq).map((r) => r.headersMs)),
        failures: seq.length - good(seq).length,
      },
      concurrent: { concurrency: opts.concurrency, ttfbMs: summarize(good(conc).map((r) => r.ttfbMs)), failures: conc.length - good(conc).length },
    };
    if (firstError !== undefined) out.firstError = firstError;
    return out;
  } finally {
    await dispatcher.close();
  }
}

export interface HeldStreams {
  /** Resolves when every stream has received its first byte (or failed). */
  allOpen: Promise<{ open: number; ms: number }>;
  /** Resolves when every stream has ended. */
  done: Promise<{ requested: number; completed: number; failed: number; firstError?: string; openMs: number }>;
  /** Aborts whatever is still open. */
  abort(): void;
}

/** Opens n streams at once (in `rampMs`) and reads each to its end. */
export function holdStreams(t: Target, n: number, rampMs: number): HeldStreams {
  const dispatcher = new Agent({ connections: n + 16, keepAliveTimeout: 30_000, bodyTimeout: 120_000, headersTimeout: 120_000 });
  const t0 = performance.now();
  let firsts = 0;
  let settledBeforeFirst = 0;
  let resolveOpen!: (v: { open: number; ms: number }) => void;
  const allOpen = new Promise<{ open: number; ms: number }>((r) => (resolveOpen = r));
  const check = (): void => {
    if (firsts + settledBeforeFirst === n) resolveOpen({ open: firsts, ms: performance.now() - t0 });
  };
  const runs: Promise<OneStream>[] = [];
  for (let i = 0; i < n; i++) {
    runs.push(
      new Promise<void>((r) => setTimeout(r, (i * rampMs) / n)).then(async () => {
        let gotFirst = false;
        const r = await oneStream({ ...t }, dispatcher, () => {
          gotFirst = true;
          firsts++;
          check();
        });
        if (!gotFirst) {
          settledBeforeFirst++;
          check();
        }
        return r;
      }),
    );
  }
  const done = Promise.all(runs).then(async (rs) => {
    await dispatcher.close().catch(() => undefined);
    const failed = rs.filter((r) => !r.ok);
    const out: { requested: number; completed: number; failed: number; firstError?: string; openMs: number } = {
      requested: n,
      completed: rs.length - failed.length,
      failed: failed.length,
      openMs: performance.now() - t0,
    };
    if (failed[0]?.error) out.firstError = failed[0].error;
    return out;
  });
  return {
    allOpen,
    done,
    abort: () => {
      void dispatcher.destroy().catch(() => undefined);
    },
  };
}
