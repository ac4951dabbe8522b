// Operator at scale: 1,000 sidecar config streams and 200 RoutingPolicies against one operator replica on
// a real kube-apiserver + etcd (test/helpers/system.ts: the chart's CRDs, RBAC and webhook configuration,
// the operator as a child process `bin/triage operator`). Writes bench/results/operator-scale.{json,md}.
//
//   node bench/operator-scale.ts [--no-wait-idle] [--no-profile] [--quick] [--out DIR]
//
// Measures: propagation of policy updates to every affected stream (one policy at a time, and all at once),
// the operator's RSS and CPU (idle with the streams open, peak during updates), webhook admission latency
// (POST /mutate directly, and pod creation through the apiserver). Then, with a profiler attached over the
// inspector protocol (not during the measured phases), where the operator spends its CPU.
//
// --no-wait-idle  skip the initial wait (≤ 15 min, polling every 30 s) for the 1-min load average < 1.0
// --no-profile    skip the profiled phases at the end
// --quick         2 namespaces × 5 policies × 5 pods and short phases: checks the plumbing only
// --out DIR       where to write operator-scale.{json,md} (default bench/results)
// --operator-env K=V  extra environment for the operator process (repeatable), e.g. to try
//                 NODE_OPTIONS=--max-old-space-size=… or MALLOC_ARENA_MAX=2; recorded in the results

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSystem, freePort, OPERATOR_NS, WEBHOOK_NAME, type OperatorProcess, type System } from '../test/helpers/system.ts';
import { loadAverage, machineInfo, waitForQuiet } from './lib/machine.ts';
import { spawnChild, stopAll } from './lib/processes.ts';
import { rssKiB } from './lib/rss.ts';
import { roundDeep, summarize, type Summary } from './lib/stats.ts';
import {
  createNamespaces, createPods, createPolicies, createProviderKey, dryRunPodCreates, GROUP_LABEL, nsName, policies as layoutPolicies,
  requestTokens, type Layout, type PodRef,
} from './lib/operator/fixtures.ts';
import { Fleet } from './lib/operator/fleet.ts';
import { adminApi, type Api } from './lib/operator/kube.ts';
import { Inspector, summarize as summarizeProfile, type ProfileSummary } from './lib/operator/profile.ts';
import { allAtOnce, oneAtATime, statusConverged, type BurstRun, type PropagationRun } from './lib/operator/propagation.ts';
import { renderMarkdown, type Results, type Target } from './lib/operator/report.ts';
import { memoryMap, otherCpuSeconds, ProcSampler, type PhaseStats } from './lib/operator/sampler.ts';
import { admissionReview, runWebhook, type WebhookRun } from './lib/operator/webhook.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values: flags } = parseArgs({
  args: process.argv.slice(2),
  options: {
    'no-wait-idle': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: join(ROOT, 'bench', 'results') },
    'operator-env': { type: 'string', multiple: true, default: [] },
  },
  strict: true,
});
const QUICK = flags.quick!;
const LAYOUT: Layout = QUICK ? { namespaces: 2, policiesPerNamespace: 5, podsPerPolicy: 5 } : { namespaces: 10, policiesPerNamespace: 20, podsPerPolicy: 5 };
const PLAN = QUICK
  ? { settleSec: 3, idleSec: 5, sequential: 20, gapMs: 50, bursts: 1, webhookSeq: 200, webhookConc: 400, webhookPaced: 200, dryRuns: 20, profileIdleSec: 3, profileSequential: 5 }
  : { settleSec: 10, idleSec: 30, sequential: 200, gapMs: 50, bursts: 3, webhookSeq: 2000, webhookConc: 4000, webhookPaced: 2000, dryRuns: 200, profileIdleSec: 15, profileSequential: 40 };
const TARGETS = { propagationP99Ms: 1000, rssMiB: 200, webhookP99Ms: 10 };
const CREATE_CONCURRENCY = 16;
const STREAM_OPEN_CONCURRENCY = 50;
const WEBHOOK_CONCURRENCY = 20;
/** The paced webhook run: well above the rate this apiserver creates pods at (~100-200/s with 16 in flight). */
const WEBHOOK_RATE = 200;
const QUIET_LOAD = 1.0;

const log = (s: string) => process.stderr.write(`[operator-scale ${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Everything started is stopped on every exit path: normal end, error, SIGINT/SIGTERM.
let sys: System | undefined;
let fleet: Fleet | undefined;
let inspector: Inspector | undefined;
let apis: Api[] = [];
let watchdog: ChildProcess | undefined;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    inspector?.close();
    fleet?.closeAll();
    for (const a of apis) a.close();
    await stopAll();
    await sys?.stop().catch((err: Error) => log(`stopping the system: ${err.message}`));
    watchdog?.stdin?.destroy();
  })();
  return cleaning;
}

/**
 * The control plane's servers die with this process however it ends (their wrapper watches a pipe from
 * it); the operator child of test/helpers/system.ts only on a clean exit. The same guard for it: a shell
 * that SIGKILLs the operator once its stdin, a pipe from this process, closes.
 */
function guard(pid: number): ChildProcess {
  const w = spawn('/bin/sh', ['-c', `cat >/dev/null; kill -KILL ${pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  w.stdin!.on('error', () => {});
  return w;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => { log(`${sig}: stopping the operator and the control plane`); void cleanup().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143)); });
}

async function main(): Promise<void> {
  const started = new Date();
  const t0 = performance.now();
  const machine = machineInfo(ROOT);
  const quietWait = flags['no-wait-idle'] ? undefined : await waitForQuiet(QUIET_LOAD, 15, log);
  const loadAtStart = loadAverage();
  log(`load average ${loadAtStart.join(' ')}; starting etcd, kube-apiserver, CRDs, the chart's RBAC and webhook`);

  const other0 = { t: performance.now(), cpu: otherCpuSeconds() };
  sys = await startSystem({ log });
  const cp = sys.cp;
  const api = adminApi(cp.server, cp.caPEM, cp.token, 32);
  const burstApi = adminApi(cp.server, cp.caPEM, cp.token, 256);
  apis = [api, burstApi];

  const policies = layoutPolicies(LAYOUT);
  const namespaces = Array.from({ length: LAYOUT.namespaces }, (_, i) => nsName(i));
  log(`creating ${namespaces.length} namespaces, a ProviderKey and ${policies.length} RoutingPolicies`);
  await createNamespaces(api, namespaces, cp.caPEM, { 'triage.dev/inject': 'enabled' });
  await createNamespaces(api, ['bench-plain'], cp.caPEM, {}); // not opted in: the apiserver does not call the webhook
  await createProviderKey(api);
  await createPolicies(api, policies);

  // The operator (it inherits this process's environment when spawned), with an inspector port for the
  // profiled phases at the end (nothing attaches before).
  const inspectPort = await freePort();
  const extraEnv = Object.fromEntries((flags['operator-env'] as string[]).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const childEnv: Record<string, string> = { ...extraEnv };
  if (!flags['no-profile']) childEnv.NODE_OPTIONS = `${extraEnv.NODE_OPTIONS ?? process.env.NODE_OPTIONS ?? ''} --inspect=127.0.0.1:${inspectPort}`.trim();
  const saved = Object.fromEntries(Object.keys(childEnv).map((k) => [k, process.env[k]]));
  Object.assign(process.env, childEnv);
  let op: OperatorProcess;
  try {
    op = await sys.startOperator('op-bench');
  } finally {
    for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
  }
  const pid = op.process.pid!;
  watchdog = guard(pid);
  const sampler = new ProcSampler(pid, 100, () => heapMetrics(op.metricsURL));
  const rssAtReady = sampler.take().rssMiB;
  const maps: Record<string, ReturnType<typeof memoryMap>> = { ready: memoryMap(pid) };
  log(`operator ready (pid ${pid}, RSS ${rssAtReady.toFixed(1)} MiB); waiting for the webhook caBundle and the policies' status`);
  await waitFor('the webhook caBundle', 60_000, async () => {
    const cfg = await api.request<any>('GET', `/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/${WEBHOOK_NAME}`);
    return cfg.webhooks.every((w: any) => w.clientConfig?.caBundle);
  });
  const initialStatus = await statusConverged(api, 0, 120_000);
  if (initialStatus.ms === null) throw new Error(`${initialStatus.lagging} RoutingPolicies never became Ready`);

  // Pods through the apiserver (so through the webhook), then a pod-bound token each.
  log(`creating ${policies.length * LAYOUT.podsPerPolicy} pods through the apiserver (${CREATE_CONCURRENCY} at a time)`);
  const { result: pods, stats: podPhase } = await sampler.phase('create pods', () => createPods(api, policies, LAYOUT.podsPerPolicy, CREATE_CONCURRENCY));
  const notInjected = pods.filter((p) => !p.injected).length;
  log(`${pods.length} pods in ${podPhase.seconds.toFixed(1)} s, ${notInjected} not injected; requesting tokens`);
  const tTok = performance.now();
  const tokens = await requestTokens(api, pods, CREATE_CONCURRENCY);
  const tokensMs = performance.now() - tTok;
  const podList = await api.request<any>('GET', `/api/v1/pods?labelSelector=${encodeURIComponent('triage.dev/sidecar=injected')}`);
  const podJSONBytes = podList.items.reduce((n: number, p: unknown) => n + JSON.stringify(p).length, 0) / Math.max(1, podList.items.length);

  const tlsSecret = await api.request<any>('GET', `/api/v1/namespaces/${OPERATOR_NS}/secrets/triage-operator-tls`);
  const operatorCA = Buffer.from(tlsSecret.data['ca.crt'], 'base64').toString('utf8');
  const operatorURL = `https://127.0.0.1:${sys.operatorPort}`;

  // The fleet: one TLS connection and config stream per pod.
  await sleep(2000);
  const rssBeforeStreams = sampler.take().rssMiB;
  const heapBeforeStreams = await heapMetrics(op.metricsURL);
  maps.beforeStreams = memoryMap(pid);
  fleet = new Fleet(operatorURL, operatorCA);
  const streamsOf = new Map<string, number[]>();
  pods.forEach((p, i) => { const l = streamsOf.get(p.policy) ?? []; l.push(i); streamsOf.set(p.policy, l); });
  log(`opening ${pods.length} config streams (${STREAM_OPEN_CONCURRENCY} handshakes at a time)`);
  const { result: opened, stats: connectPhase } = await sampler.phase('open streams', () =>
    fleet!.open(pods.map((p: PodRef, i) => ({ namespace: p.namespace, pod: p.name, policy: p.policy, token: tokens[i]! })), STREAM_OPEN_CONCURRENCY, 180_000));
  log(`all ${pods.length} streams have their first config (${(opened.ms / 1000).toFixed(1)} s); settling ${PLAN.settleSec} s`);
  const { result: connectStatus, stats: settlePhase } = await sampler.phase('settle after connect', async () => {
    const s = await statusConverged(api, LAYOUT.podsPerPolicy, 60_000);
    await sleep(PLAN.settleSec * 1000);
    return s;
  });

  log(`idle ${PLAN.idleSec} s with ${fleet.openCount()} streams open`);
  const { stats: idle } = await sampler.phase('idle, streams open', () => sleep(PLAN.idleSec * 1000));
  const heapIdle = await heapMetrics(op.metricsURL);
  maps.idle = memoryMap(pid);

  log(`propagation, one policy at a time: ${PLAN.sequential} updates, ${PLAN.gapMs} ms apart`);
  const { result: seq, stats: seqPhase } = await sampler.phase('updates one at a time', () =>
    oneAtATime(api, fleet!, policies, streamsOf, { prefix: 's', count: PLAN.sequential, gapMs: PLAN.gapMs, timeoutMs: 15_000, budgetMs: 180_000 }));
  log(`  p50 ${fmt(summarize(seq.fromResponseMs).p50)} ms, p99 ${fmt(summarize(seq.fromResponseMs).p99)} ms, missed ${seq.missed}`);
  const seqStatus = await statusConverged(api, LAYOUT.podsPerPolicy, 60_000);

  const bursts: (BurstRun & { statusConvergedMs: number | null })[] = [];
  const burstPhases: PhaseStats[] = [];
  for (let r = 0; r < PLAN.bursts; r++) {
    log(`propagation, all ${policies.length} policies at once (round ${r + 1}/${PLAN.bursts})`);
    const { result: b, stats } = await sampler.phase(`all at once #${r + 1}`, async () => {
      const run = await allAtOnce(burstApi, fleet!, policies, streamsOf, { prefix: `b${r}`, timeoutMs: 30_000 });
      const st = await statusConverged(api, LAYOUT.podsPerPolicy, 60_000);
      return { ...run, statusConvergedMs: st.ms === null ? null : st.ms };
    });
    log(`  last ACK ${fmt(b.lastAckMs)} ms after the first PATCH; p99 ${fmt(summarize(b.fromResponseMs).p99)} ms from response; missed ${b.missed}; status converged after ${b.statusConvergedMs === null ? 'never' : `${fmt(b.statusConvergedMs)} ms`}`);
    bursts.push(b);
    burstPhases.push(stats);
    await sleep(2000);
  }
  const heapAfterUpdates = await heapMetrics(op.metricsURL);
  maps.afterUpdates = memoryMap(pid);

  log(`webhook: ${PLAN.webhookSeq} AdmissionReviews one at a time, then ${PLAN.webhookConc} at ${WEBHOOK_CONCURRENCY} concurrent`);
  const reviews = policies.slice(0, 50).map((p, i) => admissionReview(p.namespace, `review-${i}`, { app: 'bench', [GROUP_LABEL]: p.group }));
  await runWebhook(operatorURL, operatorCA, reviews, 200, 1); // warm-up
  const { result: whSeq, stats: whSeqPhase } = await sampler.phase('webhook sequential', () => runWebhook(operatorURL, operatorCA, reviews, PLAN.webhookSeq, 1));
  const { result: whConc, stats: whConcPhase } = await sampler.phase('webhook concurrent', () => runWebhook(operatorURL, operatorCA, reviews, PLAN.webhookConc, WEBHOOK_CONCURRENCY));
  const { result: whPaced, stats: whPacedPhase } = await sampler.phase('webhook paced', () => runWebhook(operatorURL, operatorCA, reviews, PLAN.webhookPaced, WEBHOOK_CONCURRENCY, WEBHOOK_RATE));
  log(`  sequential p99 ${fmt(summarize(whSeq.ms).p99)} ms, ${WEBHOOK_CONCURRENCY} concurrent p99 ${fmt(summarize(whConc.ms).p99)} ms, paced ${WEBHOOK_RATE}/s p99 ${fmt(summarize(whPaced.ms).p99)} ms`);
  log(`pod creation through the apiserver (dryRun=All, one at a time): ${PLAN.dryRuns} with the webhook, ${PLAN.dryRuns} without`);
  const viaWebhook = await dryRunPodCreates(api, nsName(0), policies[0]!.group, PLAN.dryRuns);
  const noWebhook = await dryRunPodCreates(api, 'bench-plain', policies[0]!.group, PLAN.dryRuns);

  const rssPeakMeasured = sampler.peakRssMiB();
  const streamsStillOpen = fleet.openCount();

  // Profiled phases (inspector attached only now).
  const profiles: { phase: string; note: string; summary: ProfileSummary }[] = [];
  let reconnect: { ms: number; firstConfigMs: Summary; statusConvergedMs: number | null } | undefined;
  let afterFullGC: { rssMiB: number; heap: Record<string, number> } | undefined;
  if (!flags['no-profile']) {
    const dir = join(tmpdir(), `triage-operator-scale-${process.pid}`);
    mkdirSync(dir, { recursive: true });
    inspector = await Inspector.attach(inspectPort);
    // What is live, as opposed to garbage not yet collected and heap V8 keeps reserved.
    await inspector.send('HeapProfiler.collectGarbage');
    await inspector.send('HeapProfiler.collectGarbage');
    await sleep(1000);
    afterFullGC = { rssMiB: sampler.take().rssMiB, heap: await heapMetrics(op.metricsURL) };
    maps.afterFullGC = memoryMap(pid);
    log(`after a forced full GC: RSS ${afterFullGC.rssMiB.toFixed(1)} MiB, heap used ${afterFullGC.heap.heapUsedMiB!.toFixed(1)} MiB`);
    const prof = async <T>(phase: string, note: string, fn: () => Promise<T>): Promise<T> => {
      log(`profiling: ${phase}`);
      const file = join(dir, `${phase.replace(/\W+/g, '-')}.cpuprofile`);
      const { result, profile } = await inspector!.profile(file, fn);
      profiles.push({ phase, note, summary: summarizeProfile(profile, file, ROOT) });
      return result;
    };
    await prof('idle', `${PLAN.profileIdleSec} s idle with ${fleet.openCount()} streams open`, () => sleep(PLAN.profileIdleSec * 1000));
    await prof('one at a time', `${PLAN.profileSequential} single-policy updates, ${PLAN.gapMs} ms apart, plus status settling`, async () => {
      await oneAtATime(api, fleet!, policies, streamsOf, { prefix: 'ps', count: PLAN.profileSequential, gapMs: PLAN.gapMs, timeoutMs: 15_000, budgetMs: 60_000 });
      await statusConverged(api, LAYOUT.podsPerPolicy, 60_000);
    });
    await prof('all at once', `all ${policies.length} policies updated at once, until every status converged`, async () => {
      await allAtOnce(burstApi, fleet!, policies, streamsOf, { prefix: 'pb', timeoutMs: 30_000 });
      await statusConverged(api, LAYOUT.podsPerPolicy, 60_000);
    });
    await prof('webhook', `${PLAN.webhookConc} AdmissionReviews, ${WEBHOOK_CONCURRENCY} concurrent (closed loop)`, () => runWebhook(operatorURL, operatorCA, reviews, PLAN.webhookConc, WEBHOOK_CONCURRENCY));
    reconnect = await prof('reconnect all', `all ${pods.length} streams closed and reopened at once (an operator restart as the sidecars see it), until every status converged`, async () => {
      const r = await fleet!.reopen(pods.length, 180_000);
      const st = await statusConverged(api, LAYOUT.podsPerPolicy, 60_000);
      return { ms: r.ms, firstConfigMs: summarize(r.firstConfigMs), statusConvergedMs: st.ms };
    });
    log(`profiles in ${dir}`);
  }
  sampler.stop();
  const measuredPhases = sampler.phases.filter((p) => !['create pods', 'open streams', 'settle after connect'].includes(p.name));
  const disturbance = {
    /** Other processes' CPU (cores) averaged over the whole run so far, and the worst measured phase. */
    wholeRunOtherCores: (otherCpuSeconds() - other0.cpu) / ((performance.now() - other0.t) / 1000),
    worstPhase: measuredPhases.reduce((w, p) => (p.otherCores > w.otherCores ? { name: p.name, otherCores: p.otherCores } : w), { name: measuredPhases[0]!.name, otherCores: measuredPhases[0]!.otherCores }),
  };
  log(`other processes used ${disturbance.wholeRunOtherCores.toFixed(2)} cores on average (worst measured phase: ${disturbance.worstPhase.name}, ${disturbance.worstPhase.otherCores.toFixed(2)})`);

  // Calibration: what holding the same streams costs a bare node:http2 TLS server (same certificate).
  log(`calibration: a bare node:http2 TLS server holding ${pods.length} streams`);
  fleet.closeAll();
  const floor = await h2Floor(tlsSecret, operatorCA, pods.map((p: PodRef) => ({ namespace: p.namespace, pod: p.name, policy: p.policy, token: 'none' })));
  log(`  ${floor.baseMiB.toFixed(1)} MiB idle, ${floor.withStreamsMiB.toFixed(1)} MiB with ${floor.streams} streams`);
  const loadAtEnd = loadAverage();

  const seqSummary = summarize(seq.fromResponseMs);
  const burstAll = summarize(bursts.flatMap((b) => b.fromResponseMs));
  const whSeqSummary = summarize(whSeq.ms);
  const whConcSummary = summarize(whConc.ms);
  const whPacedSummary = summarize(whPaced.ms);
  const updatePhases = [seqPhase, ...burstPhases];
  const rssPeakUpdates = Math.max(...updatePhases.map((p) => p.rssMiB.peak));
  const targets: Target[] = [
    target('propagation p99, one policy at a time', `≤ ${TARGETS.propagationP99Ms} ms`, seqSummary.p99, 'ms', seqSummary.p99 <= TARGETS.propagationP99Ms && seq.missed === 0),
    target(`propagation p99, all ${policies.length} at once`, `≤ ${TARGETS.propagationP99Ms} ms`, burstAll.p99, 'ms', burstAll.p99 <= TARGETS.propagationP99Ms && bursts.every((b) => b.missed === 0)),
    target(`operator RSS idle, ${pods.length} streams (median)`, `≤ ${TARGETS.rssMiB} MiB`, idle.rssMiB.median, 'MiB', idle.rssMiB.median <= TARGETS.rssMiB),
    target('operator RSS peak during updates', `≤ ${TARGETS.rssMiB} MiB`, rssPeakUpdates, 'MiB', rssPeakUpdates <= TARGETS.rssMiB),
    target('operator RSS peak, whole measured run', `≤ ${TARGETS.rssMiB} MiB`, rssPeakMeasured, 'MiB', rssPeakMeasured <= TARGETS.rssMiB),
    target('webhook p99, /mutate one at a time', `≤ ${TARGETS.webhookP99Ms} ms`, whSeqSummary.p99, 'ms', whSeqSummary.p99 <= TARGETS.webhookP99Ms && whSeq.errors === 0),
    target(`webhook p99, /mutate ${WEBHOOK_CONCURRENCY} concurrent (closed loop, saturating)`, `≤ ${TARGETS.webhookP99Ms} ms`, whConcSummary.p99, 'ms', whConcSummary.p99 <= TARGETS.webhookP99Ms && whConc.errors === 0),
    target(`webhook p99, /mutate ${WEBHOOK_CONCURRENCY} concurrent paced at ${WEBHOOK_RATE}/s`, `≤ ${TARGETS.webhookP99Ms} ms`, whPacedSummary.p99, 'ms', whPacedSummary.p99 <= TARGETS.webhookP99Ms && whPaced.errors === 0),
  ];

  const results: Results = {
    command: ['node', 'bench/operator-scale.ts', ...process.argv.slice(2)].join(' '),
    date: started.toISOString(),
    elapsedSec: (performance.now() - t0) / 1000,
    quick: QUICK,
    machine: { ...machine, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadAtEnd, quietWait: quietWait ?? null, quietThreshold: QUIET_LOAD, disturbance },
    layout: { ...LAYOUT, policies: policies.length, pods: pods.length, streams: pods.length },
    operatorEnv: extraEnv,
    targets,
    setup: {
      controlPlaneStartupMs: cp.startupMs,
      operatorRssAtReadyMiB: rssAtReady,
      podCreate: { concurrency: CREATE_CONCURRENCY, count: pods.length, notInjected, seconds: podPhase.seconds, ms: summarize(pods.map((p) => p.createMs)) },
      tokenRequests: { concurrency: CREATE_CONCURRENCY, count: tokens.length, seconds: tokensMs / 1000 },
      openStreams: { concurrency: STREAM_OPEN_CONCURRENCY, allFirstConfigSec: opened.ms / 1000, firstConfigMs: summarize(opened.firstConfigMs), statusConvergedMs: connectStatus.ms },
    },
    propagation: {
      oneAtATime: { ...runSummary(seq), gapMs: PLAN.gapMs, statusConvergedMsAfter: seqStatus.ms },
      allAtOnce: {
        rounds: bursts.length,
        fromResponseMs: burstAll,
        fromFirstRequestMs: summarize(bursts.flatMap((b) => b.fromRequestMs)),
        patchMs: summarize(bursts.flatMap((b) => b.patchMs)),
        expected: bursts.reduce((n, b) => n + b.expected, 0),
        missed: bursts.reduce((n, b) => n + b.missed, 0),
        perRound: bursts.map((b) => ({ ...runSummary(b), lastAckMs: b.lastAckMs, allPatchedMs: b.allPatchedMs, statusConvergedMs: b.statusConvergedMs })),
      },
    },
    operator: {
      pid,
      rssMiB: { atReady: rssAtReady, withPodsBeforeStreams: rssBeforeStreams, idleWithStreams: idle.rssMiB, peakDuringUpdates: rssPeakUpdates, peakMeasured: rssPeakMeasured },
      heap: { beforeStreams: heapBeforeStreams, idle: heapIdle, afterUpdates: heapAfterUpdates, afterFullGC: afterFullGC ?? null },
      podJSONBytes,
      memoryMaps: maps,
      floor,
      phases: sampler.phases,
      streamsOpenAtEnd: streamsStillOpen,
      series: sampler.series(1),
    },
    webhook: {
      direct: { sequential: webhookSummary(whSeq), concurrent: webhookSummary(whConc), paced: webhookSummary(whPaced) },
      podCreateViaApiserver: {
        dryRunWithWebhook: { count: PLAN.dryRuns, injected: viaWebhook.injected, ms: summarize(viaWebhook.ms) },
        dryRunWithoutWebhook: { count: PLAN.dryRuns, ms: summarize(noWebhook.ms) },
        realCreates: { concurrency: CREATE_CONCURRENCY, ms: summarize(pods.map((p) => p.createMs)) },
      },
      phases: [whSeqPhase, whConcPhase, whPacedPhase],
    },
    profile: profiles.length ? { phases: profiles, reconnect: reconnect ?? null } : null,
    phasesOther: [connectPhase, settlePhase],
  };
  const outDir = resolve(flags.out!);
  mkdirSync(outDir, { recursive: true });
  const rounded = roundDeep(results, 3);
  writeFileSync(join(outDir, 'operator-scale.json'), `${JSON.stringify(rounded, null, 2)}\n`);
  writeFileSync(join(outDir, 'operator-scale.md'), renderMarkdown(rounded));
  log(`wrote ${join(outDir, 'operator-scale.json')} and .md in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  for (const t of targets) log(`${t.pass ? 'PASS' : 'FAIL'} ${t.name}: ${fmt(t.value)} ${t.unit} (target ${t.target})`);
}

function target(name: string, tgt: string, value: number, unit: string, pass: boolean): Target {
  return { name, target: tgt, value, unit, pass };
}

function runSummary(r: PropagationRun) {
  return { updates: r.updates, expected: r.expected, missed: r.missed, fromResponseMs: summarize(r.fromResponseMs), fromRequestMs: summarize(r.fromRequestMs), patchMs: summarize(r.patchMs) };
}

function webhookSummary(w: WebhookRun) {
  return { concurrency: w.concurrency, ratePerSec: w.ratePerSec, requests: w.requests, injected: w.injected, errors: w.errors, perSecond: w.requests / (w.elapsedMs / 1000), ms: summarize(w.ms) };
}

const fmt = (n: number | null | undefined) => (n === null || n === undefined || !Number.isFinite(n) ? 'n/a' : n.toFixed(1));

async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const t0 = performance.now();
  while (performance.now() - t0 < timeoutMs) {
    if (await probe().catch(() => false)) return;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A bare node:http2 TLS server's RSS, idle and holding one stream per spec from the same kind of fleet. */
async function h2Floor(tlsSecret: any, ca: string, specs: { namespace: string; pod: string; policy: string; token: string }[]) {
  const dir = mkdtempSync(join(tmpdir(), 'triage-h2floor-'));
  try {
    writeFileSync(join(dir, 'tls.crt'), Buffer.from(tlsSecret.data['tls.crt'], 'base64'));
    writeFileSync(join(dir, 'tls.key'), Buffer.from(tlsSecret.data['tls.key'], 'base64'));
    const child = spawnChild('h2floor', process.execPath, [join(ROOT, 'bench/lib/operator/h2floor.ts'), join(dir, 'tls.crt'), join(dir, 'tls.key')]);
    const port = Number(await child.waitForLine(/^\d+$/, 20_000));
    await sleep(2000);
    const baseMiB = (rssKiB(child.pid) ?? Number.NaN) / 1024;
    const baseMap = memoryMap(child.pid);
    const f = new Fleet(`https://127.0.0.1:${port}`, ca);
    try {
      await f.open(specs, STREAM_OPEN_CONCURRENCY, 120_000);
      await sleep(5000);
      const withStreamsMiB = (rssKiB(child.pid) ?? Number.NaN) / 1024;
      return { baseMiB, withStreamsMiB, streams: specs.length, perStreamKiB: ((withStreamsMiB - baseMiB) * 1024) / specs.length, maps: { base: baseMap, withStreams: memoryMap(child.pid) } };
    } finally {
      f.closeAll();
      await child.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The operator's own heap figures from its /metrics (prom-client default metrics). */
async function heapMetrics(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const pick = (name: string) => Number(new RegExp(`^triage_operator_${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    heapUsedMiB: pick('process_nodejs_heap_size_used_bytes') / 2 ** 20,
    heapTotalMiB: pick('process_nodejs_heap_size_total_bytes') / 2 ** 20,
    externalMiB: pick('process_nodejs_external_memory_bytes') / 2 ** 20,
    eventLoopLagP99Ms: pick('process_nodejs_eventloop_lag_p99_seconds') * 1000,
    eventLoopLagMaxMs: pick('process_nodejs_eventloop_lag_max_seconds') * 1000,
    sessions: pick('sidecar_sessions'),
  };
}

main().then(() => cleanup(), async (err: unknown) => {
  log(`failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  const opLogs = sys?.operators[0]?.logs.join('').split('\n').filter(Boolean).slice(-20).join('\n');
  if (opLogs) log(`last operator log lines:\n${opLogs}`);
  await cleanup();
  process.exitCode = 1;
});
