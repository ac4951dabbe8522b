// operator-scale.json's shape, and the Markdown page made from it.

import type { MachineInfo } from '../machine.ts';
import type { Summary } from '../stats.ts';
import type { ProfileSummary } from './profile.ts';
import type { memoryMap, PhaseStats, Sample } from './sampler.ts';

type MemoryMap = ReturnType<typeof memoryMap>;

export interface Target { name: string; target: string; value: number; unit: string; pass: boolean }

interface RunSummary { updates: number; expected: number; missed: number; fromResponseMs: Summary; fromRequestMs: Summary; patchMs: Summary }
interface WebhookSummary { concurrency: number; ratePerSec: number | null; requests: number; injected: number; errors: number; perSecond: number; ms: Summary }

export interface Results {
  command: string;
  date: string;
  elapsedSec: number;
  quick: boolean;
  machine: MachineInfo & { loadAverageAtStart: number[]; loadAverageAtEnd: number[]; quietWait: { quiet: boolean; waitedSec: number; load: number[] } | null; quietThreshold: number; disturbance: { wholeRunOtherCores: number; worstPhase: { name: string; otherCores: number } } };
  layout: { namespaces: number; policiesPerNamespace: number; podsPerPolicy: number; policies: number; pods: number; streams: number };
  operatorEnv: Record<string, string>;
  targets: Target[];
  setup: {
    controlPlaneStartupMs: number;
    operatorRssAtReadyMiB: number;
    podCreate: { concurrency: number; count: number; notInjected: number; seconds: number; ms: Summary };
    tokenRequests: { concurrency: number; count: number; seconds: number };
    openStreams: { concurrency: number; allFirstConfigSec: number; firstConfigMs: Summary; statusConvergedMs: number | null };
  };
  propagation: {
    oneAtATime: RunSummary & { gapMs: number; statusConvergedMsAfter: number | null };
    allAtOnce: {
      rounds: number; fromResponseMs: Summary; fromFirstRequestMs: Summary; patchMs: Summary; expected: number; missed: number;
      perRound: (RunSummary & { lastAckMs: number; allPatchedMs: number; statusConvergedMs: number | null })[];
    };
  };
  operator: {
    pid: number;
    rssMiB: { atReady: number; withPodsBeforeStreams: number; idleWithStreams: PhaseStats['rssMiB']; peakDuringUpdates: number; peakMeasured: number };
    heap: { beforeStreams: Record<string, number>; idle: Record<string, number>; afterUpdates: Record<string, number>; afterFullGC: { rssMiB: number; heap: Record<string, number> } | null };
    podJSONBytes: number;
    floor: { baseMiB: number; withStreamsMiB: number; streams: number; perStreamKiB: number; maps: { base: MemoryMap; withStreams: MemoryMap } };
    memoryMaps: Record<string, MemoryMap>;
    phases: PhaseStats[];
    streamsOpenAtEnd: number;
    series: Sample[];
  };
  webhook: {
    direct: { sequential: WebhookSummary; concurrent: WebhookSummary; paced: WebhookSummary };
    podCreateViaApiserver: {
      dryRunWithWebhook: { count: number; injected: number; ms: Summary };
      dryRunWithoutWebhook: { count: number; ms: Summary };
      realCreates: { concurrency: number; ms: Summary };
    };
    phases: PhaseStats[];
  };
  profile: { phases: { phase: string; note: string; summary: ProfileSummary }[]; reconnect: { ms: number; firstConfigMs: Summary; statusConvergedMs: number | null } | null } | null;
  phasesOther: PhaseStats[];
}

const f = (n: number | null | undefined, d = 1): string => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(d));
const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const lat = (s: Summary, d = 1) => [s.n, f(s.p50, d), f(s.p90, d), f(s.p99, d), f(s.max, d)];

export function renderMarkdown(r: Results): string {
  const m = r.machine;
  const out: string[] = [];
  out.push('# Operator at scale: 1,000 config streams, 200 RoutingPolicies', '');
  out.push(
    `Produced by \`${r.command}\` (from the repository root) on ${r.date}, commit ${m.gitCommit}` +
      (m.gitDirty.length ? ` with uncommitted changes in ${m.gitDirty.map((p) => `\`${p}\``).join(', ')}` : '') +
      `, in ${f(r.elapsedSec, 0)} s.`, '');
  if (Object.keys(r.operatorEnv).length) out.push(`> Operator started with extra environment: ${Object.entries(r.operatorEnv).map(([k, v]) => `\`${k}=${v}\``).join(', ')}.`, '');
  if (r.quick) out.push('> **Quick run** (small layout, short phases): checks the plumbing; the figures are not meaningful.', '');
  out.push(
    `Machine: ${m.nproc} cores (${m.cpuModel}), ${m.memTotalGiB} GiB, Linux ${m.kernel}, Node ${m.node}. ` +
      `Load average at start ${m.loadAverageAtStart.join(' ')}, at end ${m.loadAverageAtEnd.join(' ')}` +
      (m.quietWait ? ` (waited ${m.quietWait.waitedSec} s for the 1-min load < ${m.quietThreshold}${m.quietWait.quiet ? '' : ', never reached: measured anyway'})` : ' (no wait for a quiet machine)') + '. ' +
      'The load average includes this benchmark\'s own processes (apiserver, etcd, operator, clients); what other jobs used is measured separately: ' +
      `processes outside this benchmark used ${f(m.disturbance.wholeRunOtherCores, 2)} cores on average over the run, at most ${f(m.disturbance.worstPhase.otherCores, 2)} during a measured phase (${m.disturbance.worstPhase.name}).`, '');
  if (m.disturbance.worstPhase.otherCores > 0.25) out.push(`> **Disturbed run**: other jobs took up to ${f(m.disturbance.worstPhase.otherCores, 2)} of the ${m.nproc} cores during a measured phase; latency tails are inflated. Re-run on a quiet machine.`, '');
  out.push(
    `Setup: etcd + kube-apiserver on loopback, the chart's CRDs, RBAC and webhook configuration, one operator replica (\`bin/triage operator\`, leader) as a child process; ` +
      `${r.layout.namespaces} namespaces × ${r.layout.policiesPerNamespace} RoutingPolicies, each selecting ${r.layout.podsPerPolicy} pods by a distinct label; ` +
      `${r.layout.pods} pods created through the apiserver (so injected by the webhook), a pod-bound token each (TokenRequest, audience \`triage.dev/operator\`); ` +
      `${r.layout.streams} lightweight sidecars in the benchmark process, each with its own TLS connection and HTTP/2 config stream, speaking the sidecar's protocol (hello, then an ACK per config). ` +
      'Everything (apiserver, etcd, operator, the 1,000 clients) shares the same cores, so every figure includes that contention.', '');

  out.push('## Targets', '', row(['', 'target', 'measured', '']), row(['---', '---', '---', '---']));
  for (const t of r.targets) out.push(row([t.name, t.target, `${f(t.value)} ${t.unit}`, t.pass ? 'PASS' : '**FAIL**']));
  out.push('');

  const p = r.propagation;
  out.push('## Propagation of a RoutingPolicy update (ms)', '');
  out.push('Per affected stream: from the PATCH response received to the stream having received the new config and written its ACK. ' +
    'Slightly negative values are possible (the watch event can beat the PATCH response). Each policy selects ' + r.layout.podsPerPolicy + ' streams.', '');
  out.push(row(['run', 'updates', 'streams', 'missed', 'n', 'p50', 'p90', 'p99', 'max', 'PATCH p50', 'PATCH p99']), row(Array(11).fill('---')));
  const o = p.oneAtATime;
  out.push(row([`one at a time (${o.gapMs} ms gap)`, o.updates, o.expected, o.missed, ...lat(o.fromResponseMs), f(o.patchMs.p50), f(o.patchMs.p99)]));
  const a = p.allAtOnce;
  out.push(row([`all at once, ${a.rounds} rounds`, a.perRound.reduce((n, x) => n + x.updates, 0), a.expected, a.missed, ...lat(a.fromResponseMs), f(a.patchMs.p50), f(a.patchMs.p99)]));
  out.push('');
  out.push('All at once, per round: every PATCH sent together (one connection each); "last ACK" is from the first PATCH sent to the last stream ACKing its new config; ' +
    '"status" is until every policy\'s status again shows its generation observed, Ready and all sidecars in sync.', '');
  out.push(row(['round', 'all PATCHes answered', 'last ACK', 'p50 from response', 'p99 from response', 'p99 from first PATCH', 'status converged']), row(Array(7).fill('---')));
  a.perRound.forEach((x, i) => out.push(row([i + 1, f(x.allPatchedMs), f(x.lastAckMs), f(x.fromResponseMs.p50), f(x.fromResponseMs.p99), f(x.fromRequestMs.p99), x.statusConvergedMs === null ? 'not within 60 s' : f(x.statusConvergedMs)])));
  out.push('');

  const op = r.operator;
  out.push('## Operator memory and CPU', '');
  out.push(`VmRSS and utime+stime of the operator process (pid ${op.pid}) from /proc, sampled every 100 ms. Cores = CPU seconds ÷ wall seconds (1.0 = one core busy).`, '');
  out.push(row(['', 'RSS MiB']), row(['---', '---']));
  out.push(row(['ready (policies cached, no pods)', f(op.rssMiB.atReady)]));
  out.push(row([`${r.layout.pods} pods cached, no streams`, f(op.rssMiB.withPodsBeforeStreams)]));
  out.push(row([`idle, ${r.layout.streams} streams open (median / peak)`, `${f(op.rssMiB.idleWithStreams.median)} / ${f(op.rssMiB.idleWithStreams.peak)}`]));
  out.push(row(['peak during updates', f(op.rssMiB.peakDuringUpdates)]));
  out.push(row(['peak, whole measured run', f(op.rssMiB.peakMeasured)]));
  out.push('');
  const h = op.heap;
  const heapCell = (x: Record<string, number>) => `${f(x.heapUsedMiB)} / ${f(x.heapTotalMiB)}`;
  out.push('V8 heap (used / total MiB, from the operator\'s /metrics):', '');
  out.push(row(['point', 'heap used / total', 'external']), row(['---', '---', '---']));
  out.push(row([`${r.layout.pods} pods cached, no streams`, heapCell(h.beforeStreams), f(h.beforeStreams.externalMiB)]));
  out.push(row([`idle, ${f(h.idle.sessions, 0)} sessions`, heapCell(h.idle), f(h.idle.externalMiB)]));
  out.push(row(['after the updates', heapCell(h.afterUpdates), f(h.afterUpdates.externalMiB)]));
  if (h.afterFullGC) out.push(row([`after a forced full GC (RSS then ${f(h.afterFullGC.rssMiB)} MiB)`, heapCell(h.afterFullGC.heap), f(h.afterFullGC.heap.externalMiB)]));
  out.push('');
  out.push(`Calibration, the floor: a bare \`node:http2\` TLS server (same certificate, nothing else loaded) holding the same ${op.floor.streams} streams from the same client: ` +
    `${f(op.floor.baseMiB)} MiB idle → ${f(op.floor.withStreamsMiB)} MiB (${f(op.floor.perStreamKiB, 0)} KiB per TLS connection + stream). ` +
    `Each cached pod is ${f(op.podJSONBytes / 1024)} KiB of JSON as the apiserver returns it (the operator's pod informer keeps whole objects).`, '');
  out.push('Where the RSS is (MiB, from /proc/PID/smaps): anonymous mappings hold the V8 heap, large malloc blocks and OpenSSL/nghttp2 buffers; the brk heap is glibc\'s main malloc arena; the node binary\'s text is file-backed (shared, reclaimable) but counts in RSS.', '');
  out.push(row(['process, point', 'RSS', 'anonymous mappings', 'brk heap', 'node binary', 'other files']), row(Array(6).fill('---')));
  const mapRow = (name: string, x: MemoryMap) => { if (x) out.push(row([name, f(x.rss), f(x.anonMappings), f(x.brkHeap), f(x.nodeBinary), f(x.otherFiles)])); };
  const labels: Record<string, string> = { ready: 'operator, ready', beforeStreams: `operator, ${r.layout.pods} pods cached`, idle: `operator, idle with ${r.layout.streams} streams`, afterUpdates: 'operator, after the updates', afterFullGC: 'operator, after a forced full GC' };
  for (const [k, x] of Object.entries(op.memoryMaps)) mapRow(labels[k] ?? k, x);
  mapRow('bare node:http2 server, idle', op.floor.maps.base);
  mapRow(`bare node:http2 server, ${op.floor.streams} streams`, op.floor.maps.withStreams);
  out.push('');
  out.push('Per phase; event-loop lag from the operator\'s prom-client metrics, over the phase.', '');
  out.push(row(['phase', 'seconds', 'CPU s', 'cores', 'RSS median', 'RSS peak', 'loop lag max ms', 'heap used / total at end', 'other jobs, cores']), row(Array(9).fill('---')));
  for (const ph of op.phases) {
    out.push(row([ph.name, f(ph.seconds), f(ph.cpuSec, 2), f(ph.cores, 2), f(ph.rssMiB.median), f(ph.rssMiB.peak), f(ph.probe?.eventLoopLagMaxMs), ph.probe ? heapCell(ph.probe) : 'n/a', f(ph.otherCores, 2)]));
  }
  out.push('');

  const s = r.setup;
  out.push('## Setup figures', '');
  out.push(`- control plane start: ${f(s.controlPlaneStartupMs / 1000)} s`);
  out.push(`- ${s.podCreate.count} pods created through the apiserver, ${s.podCreate.concurrency} at a time, in ${f(s.podCreate.seconds)} s (p50 ${f(s.podCreate.ms.p50)} ms, p99 ${f(s.podCreate.ms.p99)} ms); not injected: ${s.podCreate.notInjected}`);
  out.push(`- ${s.tokenRequests.count} TokenRequests, ${s.tokenRequests.concurrency} at a time, in ${f(s.tokenRequests.seconds)} s`);
  out.push(`- ${r.layout.streams} streams opened (${s.openStreams.concurrency} handshakes at a time) and all holding their first config after ${f(s.openStreams.allFirstConfigSec)} s; per stream, connect to first config p50 ${f(s.openStreams.firstConfigMs.p50)} ms, p99 ${f(s.openStreams.firstConfigMs.p99)} ms; every policy status showing all sidecars in sync ${s.openStreams.statusConvergedMs === null ? 'not within 60 s' : `${f(s.openStreams.statusConvergedMs / 1000)} s later`}`);
  out.push('');

  const w = r.webhook;
  out.push('## Webhook admission latency (ms)', '');
  out.push('Direct: `POST /mutate` with a defaulted Pod AdmissionReview (a pod one policy selects, so the sidecar is injected) over one HTTP/2 connection, as the apiserver calls it. ' +
    'Through the apiserver: `POST pods?dryRun=All` one at a time, in an opted-in namespace (the apiserver calls the webhook) and in one that is not (no webhook call), and the real creations of the setup.', '');
  out.push('The 20-concurrent closed loop keeps 20 reviews in flight at all times: it saturates the operator\'s one thread, so its latency is mostly queueing (≈ 20 × the per-review service time, 1 ÷ the achieved rate). ' +
    'The paced run sends at a fixed rate above what this apiserver creates pods at, with up to 20 in flight.', '');
  out.push(row(['', 'in flight', 'offered req/s', 'achieved req/s', 'injected', 'errors', 'n', 'p50', 'p90', 'p99', 'max']), row(Array(11).fill('---')));
  for (const [name, x] of [['/mutate direct, one at a time', w.direct.sequential], ['/mutate direct, closed loop', w.direct.concurrent], ['/mutate direct, paced', w.direct.paced]] as const) {
    out.push(row([name, x.concurrency, x.ratePerSec ?? 'max', f(x.perSecond, 0), x.injected, x.errors, ...lat(x.ms, 2)]));
  }
  const pc = w.podCreateViaApiserver;
  out.push(row(['pod create via apiserver, dry run, webhook called', 1, '', '', pc.dryRunWithWebhook.injected, '', ...lat(pc.dryRunWithWebhook.ms, 2)]));
  out.push(row(['pod create via apiserver, dry run, no webhook', 1, '', '', '', '', ...lat(pc.dryRunWithoutWebhook.ms, 2)]));
  out.push(row(['pod create via apiserver, real (setup)', pc.realCreates.concurrency, '', '', '', '', ...lat(pc.realCreates.ms, 2)]));
  out.push('');

  if (r.profile) {
    out.push('## Where the operator spends its CPU', '');
    out.push('V8 CPU profiles of the operator taken after the measured phases (inspector attached only then), one per phase. ' +
      'Percentages are of busy (non-idle) samples. "Inclusive" lists the operator\'s own functions with everything they call.', '');
    if (r.profile.reconnect) {
      const rc = r.profile.reconnect;
      out.push(`Reconnect of all ${r.layout.streams} streams at once (profiled): all holding a config after ${f(rc.ms / 1000)} s (per stream p50 ${f(rc.firstConfigMs.p50)} ms, p99 ${f(rc.firstConfigMs.p99)} ms); status converged ${rc.statusConvergedMs === null ? 'not within 60 s' : `${f(rc.statusConvergedMs / 1000)} s later`}.`, '');
    }
    for (const ph of r.profile.phases) {
      const sm = ph.summary;
      out.push(`### ${ph.phase}`, '', `${ph.note}: ${f(sm.wallMs / 1000)} s wall, ${f(sm.busyMs / 1000)} s busy (${f((sm.busyMs / Math.max(1, sm.wallMs)) * 100, 0)}% of one core); ` +
        `of that, ${f(sm.outboundTlsSetup.pct)}% setting up new outbound TLS connections (stacks under \`TLSSocket._start\` or \`createSecureContext\`: the operator's apiserver requests).`, '');
      out.push(row(['operator function (inclusive)', 'ms', '% busy']), row(['---', '---', '---']));
      for (const h of sm.topOperatorInclusive.slice(0, 10)) out.push(row([`\`${h.where}\``, f(h.totalMs, 0), f(h.totalPct)]));
      out.push('', row(['self time', 'ms', '% busy']), row(['---', '---', '---']));
      for (const h of sm.topSelf.slice(0, 8)) out.push(row([`\`${h.where}\``, f(h.selfMs, 0), f(h.selfPct)]));
      out.push('', row(['heaviest sampled stacks (innermost first)', 'ms', '% busy']), row(['---', '---', '---']));
      for (const h of sm.topStacks.slice(0, 5)) out.push(row([`\`${h.stack}\``, f(h.ms, 0), f(h.pct)]));
      out.push('');
    }
  }
  out.push('## Reproduce', '', '```sh', 'node bench/operator-scale.ts            # full run: first waits (≤ 15 min) for the 1-min load < 1.0, then ~3 min', 'node bench/operator-scale.ts --quick    # plumbing check', '```', '');
  out.push('Needs the control-plane binaries (`make controlplane`). Flags: `--no-wait-idle`, `--no-profile`, `--quick`, `--out DIR`.', '');
  return out.join('\n');
}
