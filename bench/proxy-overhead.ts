// Proxy overhead benchmark: the same load sent to a mock upstream directly, through the Triage sidecar, and
// through LiteLLM's proxy. Writes bench/results/proxy-overhead.{json,md}. See bench/README.md.
//
//   node bench/proxy-overhead.ts [--quick] [--no-litellm] [--profile] [--wait-idle[=MIN]] [--out DIR]
//
// --quick       a smoke run of well under a minute (short runs, fewer streams); results are not meaningful
// --no-litellm  skip LiteLLM (no install, no comparison)
// --profile     run the sidecar under --cpu-prof and add its hot spots to the results
// --wait-idle   first wait (polling every 30 s, at most MIN minutes, default 20) for the 1-minute load
//               average to drop below 0.7
// --out DIR     where to write the results (default bench/results)

import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureLitellm, LITELLM_VERSION, startLitellm, writeLitellmConfig } from './litellm.ts';
import { mergeLoads, runLoad, withoutRaw, type LoadResult } from './lib/load.ts';
import { loadAverage, machineInfo, waitForQuiet } from './lib/machine.ts';
import { histogramSummaryMs, parseHistogram, runtimeStats, scrape, type Histogram, type RuntimeStats } from './lib/metrics.ts';
import { freePort, installCleanup, sleep, spawnChild, stopAll, waitForHttp, type Child } from './lib/processes.ts';
import { summarizeProfile, type ProfileSummary } from './lib/profile.ts';
import { renderMarkdown } from './lib/report.ts';
import { mib, rssKiB, sampleRss, treeRssKiB, type RssSampling } from './lib/rss.ts';
import { holdStreams, measureTtfb, type TtfbResult } from './lib/stream.ts';
import { roundDeep } from './lib/stats.ts';
import type { FixedRateRow, HeldStreamsReport, HistogramSummary, LitellmReport, Results, RssReport, TargetCheck } from './lib/types.ts';
import { API_KEY, chatBody, HEADERS, PROMPT_BYTES } from './lib/workload.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// `--wait-idle` alone means at most 20 minutes.
const argv = process.argv.slice(2).map((a) => (a === '--wait-idle' ? '--wait-idle=20' : a));
const { values: flags } = parseArgs({
  args: argv,
  options: {
    quick: { type: 'boolean', default: false },
    'no-litellm': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'wait-idle': { type: 'string' },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
  },
  allowNegative: false,
  strict: true,
});
const waitIdleArg = flags['wait-idle'];

const QUICK = flags.quick;
const PLAN = QUICK
  ? { rates: [500, 2000], fixedSec: { 500: 3, 2000: 3 } as Record<number, number>, segmentSec: 1.5, lowRate: 0, warmupSec: 1, maxSec: 3, fixedConns: 50, maxConns: 64, ttfb: { sequential: 30, concurrency: 4, perWorker: 10, warmup: 10 }, streams: 100, streamHoldSec: 2 }
  : { rates: [500, 2000], fixedSec: { 500: 20, 2000: 15 } as Record<number, number>, segmentSec: 5, lowRate: 50, warmupSec: 3, maxSec: 10, fixedConns: 50, maxConns: 64, ttfb: { sequential: 300, concurrency: 10, perWorker: 30, warmup: 50 }, streams: 500, streamHoldSec: 5 };
/** The slow upstream for held streams: 10 content pieces, 1 s apart (~12 s per stream). */
const SLOW_SCENARIO = { kind: 'ok', chunks: 10, chunkDelayMs: 1000 };
const OVERHEAD_METRIC = 'triage_proxy_overhead_seconds';

const log = (s: string): void => {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
};

interface Subject {
  name: 'direct' | 'triage' | 'litellm';
  /** POST URL for chat completions. */
  url: string;
  model: string;
  slowModel: string;
  /** Process whose CPU/RSS to watch (the proxy; the mock for direct). */
  pid: number;
  metricsURL?: string;
}

async function main(): Promise<void> {
  installCleanup();
  const commandLine = ['node', 'bench/proxy-overhead.ts', ...process.argv.slice(2)].join(' ');
  const outDir = resolve(flags.out!);
  mkdirSync(outDir, { recursive: true });
  const machine = machineInfo(ROOT);

  let litellmVersion: string | null = null;
  let litellmVenv = '';
  if (!flags['no-litellm']) {
    const inst = ensureLitellm(ROOT, log);
    litellmVersion = inst.version;
    litellmVenv = inst.venv;
  }

  let quietWait: Awaited<ReturnType<typeof waitForQuiet>> | undefined;
  if (waitIdleArg !== undefined) quietWait = await waitForQuiet(0.7, Number(waitIdleArg) || 20, log);
  const started = new Date();
  const loadAtStart = loadAverage();
  log(`load average ${loadAtStart.join(' ')}; ${QUICK ? 'QUICK (smoke) run' : 'full run'}`);
  const t0 = performance.now();

  const work = mkdtempSync(join(tmpdir(), 'triage-bench-'));
  log(`configs and child logs in ${work} (removed after a successful run)`);
  const profileDir = join(outDir, 'profile');
  if (flags.profile) {
    rmSync(profileDir, { recursive: true, force: true });
    mkdirSync(profileDir, { recursive: true });
  }

  // ── upstream mocks (two processes: instant answers, and slow streams for the held-streams test) ──
  const startMock = async (name: string, scenario?: object): Promise<{ child: Child; url: string }> => {
    const args = [join(ROOT, 'bench', 'lib', 'mock-server.ts'), '--api-key', API_KEY];
    if (scenario) args.push('--scenario', JSON.stringify(scenario));
    const child = spawnChild(name, process.execPath, args, { logFile: join(work, `${name}.log`) });
    const line = await child.waitForLine(/^\{"url"/, 15_000);
    return { child, url: (JSON.parse(line) as { url: string }).url };
  };
  const mock = await startMock('mock');
  const slowMock = await startMock('mock-slow', SLOW_SCENARIO);
  log(`mocks at ${mock.url} (instant) and ${slowMock.url} (slow streams)`);

  // ── the sidecar ──
  const cfgPath = join(work, 'triage.yaml');
  writeFileSync(
    cfgPath,
    [
      'providerKeys:',
      `  - {name: openai, provider: openai, baseURL: ${mock.url}, apiKey: ${API_KEY}}`,
      `  - {name: openai-slow, provider: openai, baseURL: ${slowMock.url}, apiKey: ${API_KEY}}`,
      'policies:',
      '  - name: default',
      '    models:',
      '      - {name: strong, deployments: [{providerKey: openai, model: gpt-4o}]}',
      '    router: {type: fixed, target: strong}',
      '  - name: slow',
      '    models:',
      '      - {name: slow-strong, deployments: [{providerKey: openai-slow, model: gpt-4o}]}',
      '    router: {type: fixed, target: slow-strong}',
      '',
    ].join('\n'),
  );
  const [proxyPort, adminPort] = [await freePort(), await freePort()];
  const nodeFlags = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const sidecar = spawnChild(
    'sidecar',
    process.execPath,
    [...nodeFlags, join(ROOT, 'cli', 'main.ts'), 'sidecar', '--config', cfgPath, '--listen', `127.0.0.1:${proxyPort}`, '--admin-listen', `127.0.0.1:${adminPort}`, '--log-level', 'warn'],
    { logFile: join(work, 'sidecar.log') },
  );
  const adminURL = `http://127.0.0.1:${adminPort}`;
  const sidecarStartupMs = await waitForHttp(`${adminURL}/readyz`, sidecar, 30_000);
  log(`sidecar pid ${sidecar.pid} ready in ${sidecarStartupMs.toFixed(0)} ms`);

  const direct: Subject = { name: 'direct', url: `${mock.url}/chat/completions`, model: 'gpt-4o', slowModel: 'gpt-4o', pid: mock.child.pid };
  const triage: Subject = { name: 'triage', url: `http://127.0.0.1:${proxyPort}/v1/chat/completions`, model: 'default', slowModel: 'slow', pid: sidecar.pid, metricsURL: `${adminURL}/metrics` };

  // Idle RSS: after startup settles, before any request.
  await sleep(QUICK ? 1000 : 3000);
  const triageRss: RssReport = { idleStartMiB: mib(rssKiB(sidecar.pid)) };
  const mockIdleMiB = mib(rssKiB(mock.child.pid));
  log(`sidecar idle RSS ${triageRss.idleStartMiB.toFixed(1)} MiB`);

  await sanity(direct);
  await sanity(triage);

  // ── fixed rate: direct vs sidecar, interleaved per rate ──
  const load = (s: Subject, rate: number | undefined, sec: number, label: string): ReturnType<typeof runLoad> =>
    runLoad({
      label,
      url: s.url,
      body: chatBody(s.model, false),
      headers: HEADERS,
      connections: rate ? PLAN.fixedConns : PLAN.maxConns,
      durationSec: sec,
      ...(rate ? { rate } : {}),
      overheadHeader: s.name === 'triage',
      cpuPids: s.name === 'direct' ? { mock: mock.child.pid } : { proxy: s.pid, mock: mock.child.pid },
    });
  /**
   * One rate for several subjects: a warm-up each, then measured segments alternating between them
   * (direct, proxy, direct, proxy, …), pooled per subject.
   */
  const fixedRun = async (subjects: Subject[], rate: number, totalSec: number): Promise<Map<Subject, { r: LoadResult; hist?: HistogramSummary; runtime?: RuntimeStats }>> => {
    for (const s of subjects) await load(s, rate, PLAN.warmupSec, `${s.name} warmup`);
    const segments = Math.max(1, Math.round(totalSec / PLAN.segmentSec));
    const parts = new Map<Subject, Awaited<ReturnType<typeof runLoad>>[]>(subjects.map((s) => [s, []]));
    const before = new Map<Subject, string>();
    for (const s of subjects) if (s.metricsURL) before.set(s, await scrape(s.metricsURL));
    for (let i = 0; i < segments; i++) {
      for (const s of subjects) parts.get(s)!.push(await load(s, rate, totalSec / segments, `${s.name} @${rate}/s #${i + 1}`));
    }
    const out = new Map<Subject, { r: LoadResult; hist?: HistogramSummary; runtime?: RuntimeStats }>();
    for (const s of subjects) {
      const r = mergeLoads(`${s.name} @${rate}/s`, parts.get(s)!);
      log(`${s.name} @${rate}/s: achieved ${r.achievedRps.toFixed(0)}/s, p50 ${r.latencyMs.p50.toFixed(3)} ms, p99 ${r.latencyMs.p99.toFixed(3)} ms, non2xx ${r.non2xx}, errors ${r.errors}`);
      const b = before.get(s);
      if (s.metricsURL && b !== undefined) {
        const a = await scrape(s.metricsURL);
        const overhead = (t: string): Histogram => parseHistogram(t, OVERHEAD_METRIC, { stream: 'false' });
        out.set(s, { r, hist: histogramSummaryMs(overhead(a), overhead(b)), runtime: runtimeStats(a, b) });
      } else out.set(s, { r });
    }
    return out;
  };
  const rates = PLAN.lowRate ? [PLAN.lowRate, ...PLAN.rates] : PLAN.rates;
  const fixedSecs = (rate: number): number => PLAN.fixedSec[rate] ?? (QUICK ? 3 : 10);
  const directFixed = new Map<number, LoadResult>();
  const triageFixed: FixedRateRow[] = [];
  for (const rate of rates) {
    const res = await fixedRun([direct, triage], rate, fixedSecs(rate));
    const d = res.get(direct)!;
    const p = res.get(triage)!;
    directFixed.set(rate, d.r);
    const rr = row(rate, d.r, p.r, p.hist);
    if (p.runtime) rr.sidecarRuntime = p.runtime;
    triageFixed.push(rr);
  }

  // ── highest sustained rate (unthrottled) ──
  const maxRun = async (s: Subject): Promise<LoadResult> => {
    await load(s, undefined, Math.min(2, PLAN.warmupSec), `${s.name} max warmup`);
    const r = withoutRaw(await load(s, undefined, PLAN.maxSec, `${s.name} max`));
    log(`${s.name} max: ${r.achievedRps.toFixed(0)}/s, p50 ${r.latencyMs.p50.toFixed(2)} ms, p99 ${r.latencyMs.p99.toFixed(2)} ms, cpu ${JSON.stringify(roundDeep(r.cpuCores, 2))}`);
    return r;
  };
  const directMax = await maxRun(direct);
  const triageMax = await maxRun(triage);

  // ── streams: time to first byte ──
  const ttfb = async (s: Subject): Promise<TtfbResult> => {
    const r = await measureTtfb({ url: s.url, headers: HEADERS, body: chatBody(s.model, true) }, PLAN.ttfb);
    log(`${s.name} TTFB sequential p50 ${r.sequential.ttfbMs.p50.toFixed(3)} ms p99 ${r.sequential.ttfbMs.p99.toFixed(3)} ms; concurrent(${r.concurrent.concurrency}) p50 ${r.concurrent.ttfbMs.p50.toFixed(3)} ms${r.firstError ? `; error: ${r.firstError}` : ''}`);
    return r;
  };
  const streamHistBefore = parseHistogram(await scrape(triage.metricsURL!), OVERHEAD_METRIC, { stream: 'true' });
  const directTtfb = await ttfb(direct);
  const triageTtfb = await ttfb(triage);
  const triageStreamHist = histogramSummaryMs(parseHistogram(await scrape(triage.metricsURL!), OVERHEAD_METRIC, { stream: 'true' }), streamHistBefore);

  // ── RSS: idle again, then under N held streams ──
  await sleep(QUICK ? 1000 : 3000);
  triageRss.idleAfterLoadMiB = mib(rssKiB(sidecar.pid));
  triageRss.streams = await heldStreams(triage, false);

  // ── profile (sidecar exits cleanly so that V8 writes it) ──
  await sidecar.stop(15_000);
  let profile: ProfileSummary | undefined;
  if (flags.profile) {
    const f = readdirSync(profileDir).find((n) => n.endsWith('.cpuprofile'));
    if (f) {
      profile = summarizeProfile(join(profileDir, f), ROOT);
      log(`profile: ${join(profileDir, f)}`);
    } else log('profile: no .cpuprofile was written');
  }

  // ── LiteLLM, against the same mocks ──
  let litellm: LitellmReport | undefined;
  if (litellmVersion) {
    const port = await freePort();
    const cfg = writeLitellmConfig(work, mock.url, slowMock.url, API_KEY);
    log('starting LiteLLM');
    const ll = await startLitellm(litellmVenv, cfg, port, join(work, 'litellm.log'));
    log(`LiteLLM pid ${ll.child.pid} ready in ${(ll.startupMs / 1000).toFixed(1)} s`);
    const subject: Subject = { name: 'litellm', url: `${ll.url}/v1/chat/completions`, model: 'gpt-4o', slowModel: 'slow', pid: ll.child.pid };
    await sleep(QUICK ? 1000 : 3000);
    const rss: RssReport = { idleStartMiB: treeRssKiB(ll.child.pid) / 1024 };
    await sanity(subject);
    const fixed: FixedRateRow[] = [];
    for (const rate of rates) {
      const r = (await fixedRun([subject], rate, fixedSecs(rate))).get(subject)!;
      fixed.push(row(rate, directFixed.get(rate)!, r.r));
    }
    const max = await maxRun(subject);
    const t = await ttfb(subject);
    await sleep(QUICK ? 1000 : 3000);
    rss.idleAfterLoadMiB = treeRssKiB(ll.child.pid) / 1024;
    rss.streams = await heldStreams(subject, true);
    litellm = { version: litellmVersion, startupSec: ll.startupMs / 1000, fixed, max, ttfb: t, rss };
    await ll.child.stop(10_000);
  }

  await stopAll();
  rmSync(work, { recursive: true, force: true });
  const loadAtEnd = loadAverage();
  const elapsedSec = (performance.now() - t0) / 1000;

  // ── derived figures, targets, ratios ──
  const at500 = triageFixed.find((r) => r.rate === 500)!;
  const ll500 = litellm?.fixed.find((r) => r.rate === 500);
  const ratio = (a: number | undefined, b: number): number | null => (a === undefined || !(b > 0) ? null : a / b);
  const targets: TargetCheck[] = [
    { name: 'added latency p50 @500 req/s', target: '≤ 1 ms', value: at500.addedMs.p50, unit: 'ms', pass: at500.addedMs.p50 <= 1 },
    { name: 'added latency p99 @500 req/s', target: '≤ 5 ms', value: at500.addedMs.p99, unit: 'ms', pass: at500.addedMs.p99 <= 5 },
    { name: 'sidecar idle RSS', target: '≤ 80 MiB', value: triageRss.idleStartMiB, unit: 'MiB', pass: triageRss.idleStartMiB <= 80 },
  ];
  if (ll500) {
    const r50 = ratio(ll500.addedMs.p50, at500.addedMs.p50);
    const r99 = ratio(ll500.addedMs.p99, at500.addedMs.p99);
    targets.push(
      { name: 'LiteLLM ÷ Triage added latency p50 @500 req/s', target: '≥ 5×', value: r50 ?? Number.NaN, unit: '×', pass: r50 !== null && r50 >= 5 },
      { name: 'LiteLLM ÷ Triage added latency p99 @500 req/s', target: '≥ 5×', value: r99 ?? Number.NaN, unit: '×', pass: r99 !== null && r99 >= 5 },
    );
  }
  const comparison: Results['comparison'] = litellm
    ? {
        addedLatencyRatios: litellm.fixed.map((l) => {
          const t = triageFixed.find((r) => r.rate === l.rate)!;
          return {
            rate: l.rate,
            litellmAchievedRps: l.proxy.achievedRps,
            triageAchievedRps: t.proxy.achievedRps,
            litellmSustained: l.proxy.achievedRps >= 0.95 * l.rate,
            p50: ratio(l.addedMs.p50, t.addedMs.p50),
            p99: ratio(l.addedMs.p99, t.addedMs.p99),
          };
        }),
        maxThroughputRatio: ratio(triageMax.achievedRps, litellm.max.achievedRps),
        ttfbAddedP50Ratio: ratio(litellm.ttfb.sequential.ttfbMs.p50 - directTtfb.sequential.ttfbMs.p50, triageTtfb.sequential.ttfbMs.p50 - directTtfb.sequential.ttfbMs.p50),
      }
    : null;

  const results: Results = roundDeep<Results>({
    benchmark: 'proxy-overhead',
    command: commandLine,
    quick: QUICK,
    date: started.toISOString(),
    elapsedSec,
    machine: { ...machine, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd, quietWait: quietWait ?? null, litellmVersion },
    setup: {
      promptBytes: PROMPT_BYTES,
      requestBody: 'POST /v1/chat/completions, one user message of 1024 ASCII bytes, max_tokens 64',
      upstream: 'test/mocks OpenAI mock in its own process, record off, instant answers ("echo: …")',
      sidecar: 'node cli/main.ts sidecar (same as bin/triage), fixed router, --log-level warn, one process',
      litellm: litellmVersion ? `litellm[proxy]==${litellmVersion}, 1 uvicorn worker, no DB, no master key, LITELLM_LOG=WARNING, num_retries 0` : null,
      loadGenerator: 'autocannon 9 in the driver process (separate from mock and proxies); fixed-rate runs paced evenly (see bench/lib/load.ts)',
      fixedRate: { connections: PLAN.fixedConns, durationSec: PLAN.fixedSec, otherRatesSec: QUICK ? 3 : 10, segmentSec: PLAN.segmentSec, warmupSec: PLAN.warmupSec },
      maxThroughput: { connections: PLAN.maxConns, durationSec: PLAN.maxSec },
      ttfb: PLAN.ttfb,
      heldStreams: { count: PLAN.streams, upstreamScenario: SLOW_SCENARIO },
      sidecarStartupMs,
      litellmPinned: LITELLM_VERSION,
    },
    targets,
    triage: {
      fixedRate: triageFixed,
      max: { direct: directMax, triage: triageMax },
      ttfb: { direct: directTtfb, triage: triageTtfb, selfReportedStreamOverheadHistogramMs: triageStreamHist },
      rss: { ...triageRss, mockIdleMiB },
    },
    litellm: litellm ?? null,
    comparison,
    profile: profile ?? null,
  });
  const jsonPath = join(outDir, 'proxy-overhead.json');
  const mdPath = join(outDir, 'proxy-overhead.md');
  writeFileSync(jsonPath, JSON.stringify(results, null, 2) + '\n');
  writeFileSync(mdPath, renderMarkdown(results));
  log(`done in ${elapsedSec.toFixed(0)} s; wrote ${jsonPath} and ${mdPath}`);
  for (const t of targets) log(`${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${Number.isFinite(t.value) ? t.value.toFixed(3) : 'n/a'} ${t.unit} (target ${t.target})`);

  // Held streams: N at once against the slow upstream, RSS sampled while all are open.
  async function heldStreams(s: Subject, tree: boolean): Promise<HeldStreamsReport> {
    const h = holdStreams({ url: s.url, headers: HEADERS, body: chatBody(s.slowModel, true) }, PLAN.streams, 1000);
    const sampler = sampleRss(s.pid, 200, tree);
    const open = await Promise.race([h.allOpen, sleep(60_000).then(() => ({ open: -1, ms: 60_000 }))]);
    await sleep(PLAN.streamHoldSec * 1000);
    let inFlightGauge: number | undefined;
    if (s.metricsURL) {
      const m = /^triage_requests_in_flight (\S+)$/m.exec(await scrape(s.metricsURL));
      if (m) inFlightGauge = Number(m[1]);
    }
    const rss = sampler.stop();
    const done = await Promise.race([h.done, sleep(90_000).then(() => undefined)]);
    if (!done) h.abort();
    const out = {
      requested: PLAN.streams,
      allOpenMs: open.ms,
      open: open.open,
      completed: done?.completed ?? -1,
      failed: done?.failed ?? -1,
      rss,
      ...(done?.firstError ? { firstError: done.firstError } : {}),
      ...(inFlightGauge !== undefined ? { inFlightGauge } : {}),
    };
    log(`${s.name} ${PLAN.streams} streams: open ${out.open} in ${open.ms.toFixed(0)} ms, completed ${out.completed}, failed ${out.failed}, RSS peak ${rss.maxMiB.toFixed(1)} MiB${out.firstError ? `; error: ${out.firstError}` : ''}`);
    return out;
  }
}

function row(rate: number, d: LoadResult, p: LoadResult, hist?: HistogramSummary): FixedRateRow {
  const r: FixedRateRow = {
    rate,
    direct: d,
    proxy: p,
    addedMs: {
      p50: p.latencyMs.p50 - d.latencyMs.p50,
      p90: p.latencyMs.p90 - d.latencyMs.p90,
      p99: p.latencyMs.p99 - d.latencyMs.p99,
      mean: p.latencyMs.mean - d.latencyMs.mean,
    },
  };
  if (hist) r.selfReportedHistogramMs = hist;
  return r;
}

async function sanity(s: Subject): Promise<void> {
  for (const stream of [false, true]) {
    const res = await fetch(s.url, { method: 'POST', headers: HEADERS, body: chatBody(s.model, stream), signal: AbortSignal.timeout(30_000) });
    const text = await res.text();
    if (res.status !== 200 || !text.includes('echo')) throw new Error(`${s.name}: sanity request (stream ${stream}) got HTTP ${res.status}: ${text.slice(0, 300)}`);
  }
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await stopAll();
}
