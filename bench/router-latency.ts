// Classification latency of the router runtime, end to end through RouterRuntime.score() (the sidecar's path:
// pool → worker thread → tokenizer + onnxruntime at one intra-op thread → back), and the memory it adds.
// Writes bench/results/router-latency.{json,md}.
//
//   node bench/router-latency.ts [--quick] [--out DIR]
//
// Runs, for prompts of ~16, ~128 and ~512 tokens:
//   single      one caller, one request at a time
//   open-loop   Poisson arrivals at fixed rates, from a pool of 50 concurrent callers (requests in flight are
//               not capped: what a pod with that request rate sees)
//   saturation  50 callers back to back (closed loop): the maximum throughput, and the latency that queueing
//               then implies (Little's law: latency ≈ callers / throughput)
// plus where the time goes (tokenisation vs inference vs the thread hop), the event loop's delay while loaded
// (the point of the worker), and RSS before loading, after load + warm-up, and after the runs.

import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadAverage, machineInfo } from './lib/machine.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string', default: join(ROOT, 'bench', 'results') } } });
const QUICK = flags.quick;
const log = (s: string) => process.stderr.write(`[router-bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const gc = (globalThis as { gc?: () => void }).gc;
const rssMiB = () => {
  gc?.();
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : process.memoryUsage().rss / 2 ** 20;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
function summary(ms: number[]) {
  const s = [...ms].sort((a, b) => a - b);
  const r = (x: number) => Math.round(x * 1000) / 1000;
  return { n: s.length, p50: r(pct(s, 50)), p90: r(pct(s, 90)), p99: r(pct(s, 99)), max: r(s[s.length - 1] ?? Number.NaN), mean: r(s.reduce((a, b) => a + b, 0) / (s.length || 1)) };
}

const load0 = loadAverage();
const rssBare = rssMiB();
// The runtime's modules (and what they import: ajv/TypeBox via api/validate.ts, which the sidecar has loaded
// anyway) are loaded before the baseline: "added by the classifier" is what loadRouter() adds.
const { loadRouter, BUILTIN_ROUTER_DIR } = await import('../sidecar/router/runtime.ts');
const { RouterTokenizer } = await import('../sidecar/router/tokenize.ts');
const rssStart = rssMiB();
const manifest = JSON.parse(readFileSync(join(BUILTIN_ROUTER_DIR, 'manifest.json'), 'utf8')) as { version: string; default_pair: { strong: string; weak: string }; tokenizer: { max_length: number } };
const STRONG = manifest.default_pair.strong;
const WEAK = manifest.default_pair.weak;

type BatchEvent = { type: 'batch'; size: number; tokenizeMs: number; inferMs: number };
let batches: BatchEvent[] = [];
let errors = 0;
const t0Load = performance.now();
const rt = await loadRouter(BUILTIN_ROUTER_DIR, {
  onEvent: (e) => {
    if (e.type === 'batch') batches.push(e as BatchEvent);
    else if (e.type === 'error') errors++;
    else if (e.type === 'restart') log(`worker restart: ${e.reason}`);
  },
});
const loadMs = performance.now() - t0Load;
const rssLoaded = rssMiB();
log(`loaded in ${loadMs.toFixed(0)} ms; RSS ${rssStart.toFixed(1)} → ${rssLoaded.toFixed(1)} MiB`);

// ---- prompts of a given token length (varied text, exact token counts with the router's tokenizer) -----------
const tok = RouterTokenizer.fromFile(join(BUILTIN_ROUTER_DIR, 'tokenizer.json'), 1 << 20); // untruncated, to size prompts
const SENTENCES = [
  'Explain how a hash map handles collisions and what happens when it resizes.',
  'Write a short poem about the sea at night, with a surprising last line.',
  'Given a list of integers, return the length of the longest strictly increasing subsequence.',
  'What were the main economic causes of the 2008 financial crisis?',
  'Translate the following paragraph into French and keep the formal register.',
  'My Kubernetes pod is stuck in CrashLoopBackOff; the logs show an OOMKilled status.',
  'Summarise the plot of Hamlet in five bullet points for a high-school student.',
  'Prove that the square root of two is irrational, step by step.',
  'Draft a polite email asking a colleague to review my pull request by Friday.',
  'Compare PostgreSQL and MySQL for a write-heavy workload with many small transactions.',
];
function promptOf(tokens: number, variant: number): string {
  const words: string[] = [];
  let i = variant;
  let text = '';
  for (;;) {
    const s = SENTENCES[i++ % SENTENCES.length]!.split(' ');
    for (const w of s) {
      words.push(w);
      const next = words.join(' ');
      if (tok.encode(next).length > tokens) return text;
      text = next;
    }
  }
}
const LENGTHS = [16, 128, 512];
const prompts = new Map(LENGTHS.map((L) => [L, Array.from({ length: 40 }, (_, v) => promptOf(L, v))]));
const tokenCounts = Object.fromEntries(LENGTHS.map((L) => {
  const c = prompts.get(L)!.map((p) => tok.encode(p).length);
  return [L, { min: Math.min(...c), max: Math.max(...c) }];
}));

async function one(text: string): Promise<number> {
  const t = performance.now();
  const r = await rt.score(text, STRONG, WEAK);
  const ms = performance.now() - t;
  if (!('score' in r)) throw new Error(`score failed: ${r.error}`);
  return ms;
}

function perRequestCosts(bs: BatchEvent[]) {
  const n = bs.reduce((a, b) => a + b.size, 0) || 1;
  return {
    batches: bs.length,
    meanBatch: Math.round((n / (bs.length || 1)) * 100) / 100,
    tokenizeMsPerRequest: Math.round((bs.reduce((a, b) => a + b.tokenizeMs, 0) / n) * 1000) / 1000,
    inferMsPerRequest: Math.round((bs.reduce((a, b) => a + b.inferMs, 0) / n) * 1000) / 1000,
  };
}

const elDelay = monitorEventLoopDelay({ resolution: 1 });

async function single(L: number, n: number) {
  const ps = prompts.get(L)!;
  for (let i = 0; i < 100; i++) await one(ps[i % ps.length]!);
  batches = [];
  const ms: number[] = [];
  for (let i = 0; i < n; i++) ms.push(await one(ps[i % ps.length]!));
  return { latencyMs: summary(ms), ...perRequestCosts(batches) };
}

async function openLoop(L: number, rate: number, seconds: number) {
  const ps = prompts.get(L)!;
  batches = [];
  const errs0 = errors;
  const ms: number[] = [];
  const lag: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let next = start;
  let i = 0;
  elDelay.reset();
  elDelay.enable();
  while (performance.now() - start < seconds * 1000) {
    const now = performance.now();
    while (next <= now) {
      const text = ps[i++ % ps.length]!;
      lag.push(performance.now() - next); // how late the sender itself was (timer granularity), reported apart
      const sent = performance.now();
      pending.push(rt.score(text, STRONG, WEAK).then((r) => { if ('score' in r) ms.push(performance.now() - sent); }));
      next += -Math.log(1 - Math.random()) * (1000 / rate);
    }
    await sleep(Math.max(0, Math.min(5, next - performance.now())));
  }
  await Promise.all(pending);
  elDelay.disable();
  const took = (performance.now() - start) / 1000;
  return {
    offeredPerSec: rate, completed: ms.length, errors: errors - errs0, achievedPerSec: Math.round(ms.length / took),
    latencyMs: summary(ms), senderLagMs: summary(lag), eventLoopDelayMs: { p50: Math.round(elDelay.percentile(50) / 1e3) / 1e3, p99: Math.round(elDelay.percentile(99) / 1e3) / 1e3 },
    ...perRequestCosts(batches),
  };
}

async function saturation(L: number, callers: number, seconds: number) {
  const ps = prompts.get(L)!;
  batches = [];
  const errs0 = errors;
  const ms: number[] = [];
  const end = performance.now() + seconds * 1000;
  elDelay.reset();
  elDelay.enable();
  const start = performance.now();
  await Promise.all(Array.from({ length: callers }, async (_, c) => {
    let i = c;
    while (performance.now() < end) {
      const t = performance.now();
      const r = await rt.score(ps[i++ % ps.length]!, STRONG, WEAK);
      if ('score' in r) ms.push(performance.now() - t);
    }
  }));
  elDelay.disable();
  const took = (performance.now() - start) / 1000;
  return {
    callers, completed: ms.length, errors: errors - errs0, throughputPerSec: Math.round(ms.length / took), latencyMs: summary(ms),
    eventLoopDelayMs: { p50: Math.round(elDelay.percentile(50) / 1e3) / 1e3, p99: Math.round(elDelay.percentile(99) / 1e3) / 1e3 },
    ...perRequestCosts(batches),
  };
}

// in-thread costs of the two stages, for "where the time goes"
async function stageCosts(L: number) {
  const { RouterSession } = await import('../sidecar/router/session.ts');
  const s = await RouterSession.create(join(BUILTIN_ROUTER_DIR, 'router.onnx'), 15);
  const ps = prompts.get(L)!;
  const n = QUICK ? 200 : 1000;
  const ids = ps.map((p) => tok.encode(p));
  let t = performance.now();
  for (let i = 0; i < n; i++) tok.encode(ps[i % ps.length]!);
  const tokenizeMs = (performance.now() - t) / n;
  for (let i = 0; i < 50; i++) await s.score([{ ids: ids[i % ids.length]!, strong: [6, 1], weak: [10, 1] }]);
  t = performance.now();
  for (let i = 0; i < n; i++) await s.score([{ ids: ids[i % ids.length]!, strong: [6, 1], weak: [10, 1] }]);
  const inferMs = (performance.now() - t) / n;
  await s.release();
  return { tokenizeMs: Math.round(tokenizeMs * 1000) / 1000, onnxRunMs: Math.round(inferMs * 1000) / 1000 };
}

const plan = QUICK
  ? { single: 300, rates: [200], openSec: 1, satSec: 1 }
  : { single: 2000, rates: [200, 1000], openSec: 3, satSec: 3 };

const results: Record<string, unknown> = {};
for (const L of LENGTHS) {
  log(`${L} tokens: single caller`);
  const s = await single(L, plan.single);
  const open: unknown[] = [];
  for (const rate of plan.rates) {
    log(`${L} tokens: open loop ${rate}/s`);
    open.push(await openLoop(L, rate, plan.openSec));
  }
  log(`${L} tokens: 50 callers back to back`);
  const sat = await saturation(L, 50, plan.satSec);
  results[String(L)] = { tokens: tokenCounts[L], single: s, openLoop: open, saturation50: sat };
}
const rssAfterRuns = rssMiB();
const mainAfterRuns = process.memoryUsage();
const workerHeap = await (rt as unknown as { pool: { heap(): Promise<{ used_heap_size: number; total_heap_size: number } | undefined> } }).pool.heap();
await sleep(3000);
const rssAfterIdle = rssMiB();
await rt.close();
const stages: Record<string, unknown> = {};
for (const L of LENGTHS) stages[String(L)] = await stageCosts(L);
const load1 = loadAverage();

const out = {
  what: 'RouterRuntime.score() end to end: pool → worker thread (tokenizer + onnxruntime, intraOpNumThreads 1) → back',
  command: `node${gc ? ' --expose-gc' : ''} bench/router-latency.ts${QUICK ? ' --quick' : ''}`,
  date: new Date().toISOString(),
  machine: machineInfo(ROOT),
  loadAverage: { start: load0, end: load1 },
  router: { version: manifest.version, pair: `${STRONG} vs ${WEAK}`, options: 'defaults: timeoutMs 50, maxBatch 32, tokenBudget 4096, adaptive batching' },
  loadMs: Math.round(loadMs),
  rssMiB: {
    bareProcess: Math.round(rssBare * 10) / 10,
    beforeLoad: Math.round(rssStart * 10) / 10,
    afterLoadAndWarmup: Math.round(rssLoaded * 10) / 10,
    afterRuns: Math.round(rssAfterRuns * 10) / 10,
    addedAfterWarmup: Math.round((rssLoaded - rssStart) * 10) / 10,
    addedAfterRuns: Math.round((rssAfterRuns - rssStart) * 10) / 10,
    afterIdle3s: Math.round(rssAfterIdle * 10) / 10,
    mainThreadAfterRuns: { heapTotalMiB: Math.round(mainAfterRuns.heapTotal / 2 ** 20 * 10) / 10, heapUsedMiB: Math.round(mainAfterRuns.heapUsed / 2 ** 20 * 10) / 10, externalMiB: Math.round(mainAfterRuns.external / 2 ** 20 * 10) / 10 },
    workerHeapAfterRuns: workerHeap ? { totalMiB: Math.round(workerHeap.total_heap_size / 2 ** 20 * 10) / 10, usedMiB: Math.round(workerHeap.used_heap_size / 2 ** 20 * 10) / 10 } : null,
  },
  results,
  inThreadStageCostsMs: stages,
  targets: { p50Ms: 3, p99Ms: 10, addedRssMiB: 60 },
  comparison: 'RouteLLM\'s mf/sw routers embed every prompt with the OpenAI embeddings API: one HTTPS round trip per request, typically on the order of 100–300 ms and more at the tail (NOT measured here; public-API figures vary by region and load).',
};
mkdirSync(flags.out!, { recursive: true });
writeFileSync(join(flags.out!, 'router-latency.json'), JSON.stringify(out, null, 1) + '\n');
writeFileSync(join(flags.out!, 'router-latency.md'), renderMd(out));
log(`wrote ${join(flags.out!, 'router-latency.{json,md}')}`);

function renderMd(o: typeof out): string {
  type Lat = { p50: number; p99: number; max: number; n: number };
  type Row = { tokens: { min: number; max: number }; single: { latencyMs: Lat; tokenizeMsPerRequest: number; inferMsPerRequest: number }; openLoop: { offeredPerSec: number; achievedPerSec: number; errors: number; latencyMs: Lat; meanBatch: number; eventLoopDelayMs: { p99: number } }[]; saturation50: { throughputPerSec: number; errors: number; latencyMs: Lat; meanBatch: number; eventLoopDelayMs: { p99: number } } };
  const lines = [
    '# Router classification latency',
    '',
    `\`${o.command}\` — ${o.date.slice(0, 16)}Z, commit ${o.machine.gitCommit}, ${o.machine.nproc} cores (${o.machine.cpuModel}), Node ${o.machine.node}.`,
    `Load average at start ${o.loadAverage.start.join(' ')}, at end ${o.loadAverage.end.join(' ')} (a shared 2-core machine: other work ran concurrently).`,
    '',
    `End to end through \`RouterRuntime.score()\`: the sidecar thread → the router worker (tokenizer + onnxruntime, one intra-op thread) → back. Router ${o.router.version}, ${o.router.pair}; ${o.router.options}.`,
    '',
    '| prompt | scenario | requests | throughput /s | p50 ms | p99 ms | max ms | mean batch | event-loop delay p99 ms | errors |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [L, r] of Object.entries(o.results as Record<string, Row>)) {
    const label = `${L} tok (${r.tokens.min}–${r.tokens.max})`;
    lines.push(`| ${label} | single caller | ${r.single.latencyMs.n} | – | ${r.single.latencyMs.p50} | ${r.single.latencyMs.p99} | ${r.single.latencyMs.max} | 1 | – | 0 |`);
    for (const x of r.openLoop) lines.push(`| ${label} | open loop ${x.offeredPerSec}/s, 50 callers | ${x.latencyMs.n} | ${x.achievedPerSec} | ${x.latencyMs.p50} | ${x.latencyMs.p99} | ${x.latencyMs.max} | ${x.meanBatch} | ${x.eventLoopDelayMs.p99} | ${x.errors} |`);
    const s = r.saturation50;
    lines.push(`| ${label} | 50 callers back to back | ${s.latencyMs.n} | ${s.throughputPerSec} | ${s.latencyMs.p50} | ${s.latencyMs.p99} | ${s.latencyMs.max} | ${s.meanBatch} | ${s.eventLoopDelayMs.p99} | ${s.errors} |`);
  }
  lines.push('', '**Where the time goes** (single caller, per request, measured in the worker; and each stage alone in one thread):', '',
    '| prompt | tokenise (worker) ms | onnxruntime run (worker) ms | end-to-end p50 ms | tokenise alone ms | onnx run alone ms |', '|---|---|---|---|---|---|');
  for (const [L, r] of Object.entries(o.results as Record<string, Row>)) {
    const st = (o.inThreadStageCostsMs as Record<string, { tokenizeMs: number; onnxRunMs: number }>)[L]!;
    lines.push(`| ${L} tok | ${r.single.tokenizeMsPerRequest} | ${r.single.inferMsPerRequest} | ${r.single.latencyMs.p50} | ${st.tokenizeMs} | ${st.onnxRunMs} |`);
  }
  const m = o.rssMiB;
  lines.push('', `**Memory**: RSS ${m.bareProcess} MiB for the bare process, ${m.beforeLoad} MiB with the runtime's modules imported (ajv/TypeBox included, which the sidecar loads anyway), ${m.afterLoadAndWarmup} MiB after loadRouter() (load + warm-up: **+${m.addedAfterWarmup} MiB**), ${m.afterRuns} MiB after the runs (+${m.addedAfterRuns} MiB; the worker's V8 heap then ${m.workerHeapAfterRuns?.totalMiB} MiB (${m.workerHeapAfterRuns?.usedMiB} used), this thread's V8 heap ${m.mainThreadAfterRuns.heapTotalMiB} MiB (${m.mainThreadAfterRuns.heapUsedMiB} used; the load generator runs here too); the rest is native: malloc arenas of both threads, onnxruntime's arena), ${m.afterIdle3s} MiB after 3 s idle. Load + warm-up took ${o.loadMs} ms.`);
  lines.push('', `Targets: p50 ≤ ${o.targets.p50Ms} ms and p99 ≤ ${o.targets.p99Ms} ms up to 512 tokens; added RSS ≤ ${o.targets.addedRssMiB} MiB.`,
    '', `Comparison point: ${o.comparison}`, '');
  return lines.join('\n');
}
