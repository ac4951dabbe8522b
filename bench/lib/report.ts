// proxy-overhead.json → a readable Markdown page.

import type { LoadResult } from './load.ts';
import type { Summary } from './stats.ts';
import type { FixedRateRow, Results, RssReport } from './types.ts';

const f = (n: number | null | undefined, d = 3): string => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(d));
const signed = (n: number, d = 3): string => (Number.isFinite(n) ? (n >= 0 ? '+' : '') + n.toFixed(d) : 'n/a');
const x = (n: number | null | undefined): string => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : `${n.toFixed(1)}×`);

function latencyCells(l: LoadResult): string {
  const s: Summary = l.latencyMs;
  return `${f(l.achievedRps, 0)} | ${f(s.p50)} | ${f(s.p90)} | ${f(s.p99)} | ${f(s.p999)} | ${f(s.max, 2)}`;
}

export function renderMarkdown(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  out.push('# Proxy overhead: direct vs Triage sidecar vs LiteLLM proxy', '');
  out.push(
    `Produced by \`${r.command}\` (from the repository root; \`make bench\` runs the same) on ${r.date}, commit ${m.gitCommit}` +
      (m.gitDirty.length ? ` with uncommitted changes in ${m.gitDirty.map((p) => `\`${p}\``).join(', ')}` : '') +
      `, in ${f(r.elapsedSec, 0)} s.`,
    '',
  );
  if (r.quick) out.push('> **Quick smoke run**: runs of a few seconds and fewer streams. The figures are not meaningful; run without `--quick`.', '');
  out.push(
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memTotalGiB} GiB, Linux ${m.kernel}, Node ${m.node}` +
      (m.litellmVersion ? `, LiteLLM ${m.litellmVersion}` : ', LiteLLM not run') +
      `. Load average at start ${m.loadAverageAtStart.join(' ')}, at end ${m.loadAverageAtEnd.join(' ')}` +
      (m.quietWait ? ` (waited ${m.quietWait.waitedSec} s for 1-min load < 0.7${m.quietWait.quiet ? '' : ', never reached'})` : '') +
      '.',
    '',
  );
  out.push(
    'The mock upstream, the proxy under test and the load generator (autocannon, in the driver) are three processes sharing these cores, so every figure includes that contention. ' +
      'Requests: `POST /v1/chat/completions`, one 1 KiB user message, non-streaming unless stated. Latency is measured per request from write to last byte (ms); ' +
      '"added" = proxy percentile − direct percentile at the same offered rate.',
    '',
  );

  out.push('## Targets', '', '| | target | measured | |', '|---|---|---|---|');
  for (const t of r.targets) out.push(`| ${t.name} | ${t.target} | ${t.unit === '×' ? x(t.value) : `${f(t.value)} ${t.unit}`} | ${t.pass ? 'PASS' : '**FAIL**'} |`);
  out.push('');

  out.push('## Latency at a fixed rate (ms)', '');
  out.push(
    `${r.triage.fixedRate[0]?.direct.connections ?? ''} connections, arrivals paced evenly at the offered rate; after a warm-up run, the measured time is cut into segments alternating direct / proxy, pooled per path. A negative "added" value is below the run-to-run noise.`,
    '',
  );
  out.push('| offered req/s | path | achieved req/s | p50 | p90 | p99 | p99.9 | max | added p50 | added p99 |', '|---|---|---|---|---|---|---|---|---|---|');
  const litellmAt = (rate: number): FixedRateRow | undefined => r.litellm?.fixed.find((x) => x.rate === rate);
  for (const row of r.triage.fixedRate) {
    out.push(`| ${row.rate} | direct | ${latencyCells(row.direct)} | | |`);
    out.push(`| ${row.rate} | **Triage** | ${latencyCells(row.proxy)} | **${signed(row.addedMs.p50)}** | **${signed(row.addedMs.p99)}** |`);
    const l = litellmAt(row.rate);
    if (l) out.push(`| ${row.rate} | LiteLLM | ${latencyCells(l.proxy)} | ${signed(l.addedMs.p50, 2)} | ${signed(l.addedMs.p99, 2)} |`);
  }
  out.push('');
  out.push('Cross-check, the sidecar\'s own account of its overhead over the same Triage runs (total minus upstream time): the `x-triage-overhead-ms` header of every response, and the `triage_proxy_overhead_seconds` histogram (difference of two scrapes, quantiles interpolated within its buckets 0.1, 0.25, 0.5, 1, 2.5, 5, 10 ms).', '');
  out.push('| offered req/s | header p50 | header p90 | header p99 | header max | histogram count | histogram mean | histogram p50 | histogram p99 |', '|---|---|---|---|---|---|---|---|---|');
  for (const row of r.triage.fixedRate) {
    const h = row.proxy.overheadHeaderMs;
    const g = row.selfReportedHistogramMs;
    out.push(`| ${row.rate} | ${f(h?.p50)} | ${f(h?.p90)} | ${f(h?.p99)} | ${f(h?.max, 2)} | ${g?.count ?? 'n/a'} | ${f(g?.meanMs)} | ${f(g?.p50Ms)} | ${f(g?.p99Ms)} |`);
  }
  out.push('');
  out.push(
    'The sidecar\'s runtime over the same Triage runs (prom-client default metrics): garbage collections by kind (count, total ms, how many took over 10 ms) and its event-loop delay (p50 / p99 / max, ms, beyond the 10 ms sampling interval of the monitor; prom-client resets it on each scrape).',
    '',
  );
  out.push('| offered req/s | minor GC | major GC | incremental GC | event-loop delay p50 / p99 / max |', '|---|---|---|---|---|');
  for (const row of r.triage.fixedRate) {
    const rt = row.sidecarRuntime;
    const gc = (k: string): string => {
      const g = rt?.gc[k];
      return g ? `${g.count}, ${f(g.totalMs, 1)} ms, ${g.over10ms} > 10 ms` : '0';
    };
    out.push(`| ${row.rate} | ${gc('minor')} | ${gc('major')} | ${gc('incremental')} | ${rt ? `${f(rt.eventLoopDelayMs.p50, 1)} / ${f(rt.eventLoopDelayMs.p99, 1)} / ${f(rt.eventLoopDelayMs.max, 1)}` : 'n/a'} |`);
  }
  out.push('');
  out.push(
    'Contention: how late the pacer sent requests vs their schedule (ms, p50 / p99; large values mean the load generator itself was short of CPU), and the cores busy with *other* work on the machine during each run (all busy cores minus mock, proxy and load generator).',
    '',
  );
  out.push('| offered req/s | send lag direct | send lag Triage | send lag LiteLLM | other cores busy: direct / Triage / LiteLLM runs |', '|---|---|---|---|---|');
  for (const row of r.triage.fixedRate) {
    const lag = (l: LoadResult | undefined): string => (l?.sendLagMs ? `${f(l.sendLagMs.p50, 2)} / ${f(l.sendLagMs.p99, 2)}` : 'n/a');
    const others = (l: LoadResult | undefined): string => f(l?.cpuCores?.others, 2);
    const ll = litellmAt(row.rate)?.proxy;
    out.push(`| ${row.rate} | ${lag(row.direct)} | ${lag(row.proxy)} | ${lag(ll)} | ${others(row.direct)} / ${others(row.proxy)} / ${others(ll)} |`);
  }
  out.push('');

  out.push('## Highest sustained rate (unthrottled)', '');
  const mx = r.triage.max;
  out.push(`${mx.direct.connections} connections, ${f(mx.direct.durationSec, 0)} s, as fast as answers come back. CPU = average cores busy during the run (1.0 = one core; "others" = other people's work on the machine).`, '');
  out.push('| path | req/s | p50 ms | p99 ms | non-2xx + errors | CPU proxy | CPU mock | CPU load generator | CPU others |', '|---|---|---|---|---|---|---|---|---|');
  const maxRow = (name: string, l: LoadResult): string =>
    `| ${name} | ${f(l.achievedRps, 0)} | ${f(l.latencyMs.p50, 2)} | ${f(l.latencyMs.p99, 2)} | ${l.non2xx + l.errors} | ${f(l.cpuCores?.proxy, 2)} | ${f(l.cpuCores?.mock, 2)} | ${f(l.cpuCores?.loadgen, 2)} | ${f(l.cpuCores?.others, 2)} |`;
  out.push(maxRow('direct', mx.direct), maxRow('**Triage**', mx.triage));
  if (r.litellm) out.push(maxRow('LiteLLM', r.litellm.max));
  out.push('');

  out.push('## Streams: time to first byte (ms)', '');
  const td = r.triage.ttfb.direct;
  out.push(
    `\`stream: true\`; time from sending the request to the first body chunk. Sequential: ${td.sequential.ttfbMs.n} requests one at a time; concurrent: ${td.concurrent.concurrency} clients back to back (${td.concurrent.ttfbMs.n} requests).`,
    '',
  );
  out.push('| path | sequential p50 | sequential p99 | added p50 | added p99 | concurrent p50 | concurrent p99 | added p50 | failures |', '|---|---|---|---|---|---|---|---|---|');
  const ttfbRow = (name: string, t: typeof td): string =>
    `| ${name} | ${f(t.sequential.ttfbMs.p50)} | ${f(t.sequential.ttfbMs.p99)} | ${name === 'direct' ? '' : signed(t.sequential.ttfbMs.p50 - td.sequential.ttfbMs.p50)} | ${name === 'direct' ? '' : signed(t.sequential.ttfbMs.p99 - td.sequential.ttfbMs.p99)} | ${f(t.concurrent.ttfbMs.p50)} | ${f(t.concurrent.ttfbMs.p99)} | ${name === 'direct' ? '' : signed(t.concurrent.ttfbMs.p50 - td.concurrent.ttfbMs.p50)} | ${t.sequential.failures + t.concurrent.failures} |`;
  out.push(ttfbRow('direct', td), ttfbRow('**Triage**', r.triage.ttfb.triage));
  if (r.litellm) out.push(ttfbRow('LiteLLM', r.litellm.ttfb));
  const sh = r.triage.ttfb.selfReportedStreamOverheadHistogramMs;
  out.push('', `Sidecar's own \`triage_proxy_overhead_seconds{stream="true"}\` over these streams: ${sh.count} observations, mean ${f(sh.meanMs)} ms, p50 ≈ ${f(sh.p50Ms)} ms, p99 ≈ ${f(sh.p99Ms)} ms.`, '');

  out.push('## Memory (RSS, MiB)', '');
  const hs = r.triage.rss.streams;
  out.push(
    `Idle = VmRSS a few seconds after start-up, before any request ("after load": after all the runs above). Streams: ${hs?.requested ?? 'n/a'} streaming requests opened at once against a slow upstream (10 pieces, 1 s apart), RSS sampled every 200 ms while all are open. LiteLLM's figure is the whole process tree.`,
    '',
  );
  out.push('| process | idle | idle after load | streams open: peak | median | opened / completed / failed | time to open all |', '|---|---|---|---|---|---|---|');
  const rssRow = (name: string, x: RssReport): string => {
    const s = x.streams;
    return `| ${name} | ${f(x.idleStartMiB, 1)} | ${f(x.idleAfterLoadMiB, 1)} | ${f(s?.rss.maxMiB, 1)} | ${f(s?.rss.medianMiB, 1)} | ${s ? `${s.open} / ${s.completed} / ${s.failed}` : 'n/a'} | ${s ? `${f(s.allOpenMs / 1000, 1)} s` : 'n/a'} |`;
  };
  out.push(rssRow('**Triage sidecar**', r.triage.rss));
  if (r.litellm) out.push(rssRow('LiteLLM', r.litellm.rss));
  out.push(`| mock upstream | ${f(r.triage.rss.mockIdleMiB, 1)} | | | | | |`, '');
  if (hs?.inFlightGauge !== undefined) out.push(`\`triage_requests_in_flight\` read ${hs.inFlightGauge} while the streams were open.`, '');

  if (r.litellm && r.comparison) {
    out.push('## LiteLLM side by side', '');
    out.push(`LiteLLM ${r.litellm.version}, 1 worker, no database, no master key, log level WARNING; ready ${f(r.litellm.startupSec, 1)} s after launch.`, '');
    out.push('| offered req/s | LiteLLM achieved req/s | sustained | LiteLLM ÷ Triage added p50 | LiteLLM ÷ Triage added p99 |', '|---|---|---|---|---|');
    for (const c of r.comparison.addedLatencyRatios) out.push(`| ${c.rate} | ${f(c.litellmAchievedRps, 0)} | ${c.litellmSustained ? 'yes' : '**no**'} | ${x(c.p50)} | ${x(c.p99)} |`);
    out.push('', `Max throughput, Triage ÷ LiteLLM: ${x(r.comparison.maxThroughputRatio)}. Added time to first byte (sequential p50), LiteLLM ÷ Triage: ${x(r.comparison.ttfbAddedP50Ratio)}.`, '');
    out.push('Where LiteLLM did not sustain the offered rate, its latencies are those of a saturated server (each connection sends its next request when the previous answer arrives) and the ratio compares what it did, not the same load.', '');
  }

  if (r.profile) {
    out.push('## Sidecar CPU profile (hot spots)', '');
    out.push(`\`node --cpu-prof\` over the whole sidecar run; ${f(r.profile.sampledMs / 1000, 1)} s sampled, ${f(r.profile.idlePct, 1)}% idle. Percentages are of busy time.`, '');
    out.push('| self % | total % | function (file:line) |', '|---|---|---|');
    for (const h of r.profile.topSelf.slice(0, 15)) out.push(`| ${f(h.selfPct, 1)} | ${f(h.totalPct, 1)} | \`${h.where}\` |`);
    out.push('', 'Project functions by inclusive time:', '', '| total % | self % | function (file:line) |', '|---|---|---|');
    for (const h of r.profile.topProjectInclusive.slice(0, 15)) out.push(`| ${f(h.totalPct, 1)} | ${f(h.selfPct, 1)} | \`${h.where}\` |`);
    out.push('');
  }

  out.push('All figures, with full distributions (n, min, mean, p50, p90, p99, p99.9, max) and CPU use per run: `proxy-overhead.json` next to this file. How the benchmark works: `bench/README.md`.', '');
  return out.join('\n');
}
