// Load runs with autocannon (in this process; the servers under test are other processes).
//
// Fixed-rate runs pass autocannon's `overallRate`. On its own, autocannon enforces that rate as a per-
// connection quota per second: every connection fires its whole quota back to back at the top of each
// second, then idles — the load arrives as a burst of `connections` concurrent closed loops, not at the
// nominal rate. So for fixed-rate runs a pacer (installed through autocannon's `setupClient` hook) also
// spaces each connection's requests evenly over the second, the connections staggered, so that arrivals
// are evenly spread at the requested rate. The quota stays as a ceiling.
//
// Latencies are collected raw from every 2xx response but each connection's first (autocannon's
// 'response' event, float ms from hrtime at write to the last byte parsed): autocannon's own histogram
// keeps integer milliseconds, too coarse for sub-millisecond overheads. Runs can be cut into segments and pooled (mergeLoads), so that the
// direct and proxied runs of one rate alternate and a burst of outside load hits both alike.

import autocannon from 'autocannon';
import type { AutocannonClient } from 'autocannon';
import { cpuMeter } from './rss.ts';
import { summarize, type Summary } from './stats.ts';

export interface LoadSpec {
  label: string;
  url: string;
  body: string;
  headers: Record<string, string>;
  connections: number;
  durationSec: number;
  /** Requests/s over all connections; undefined = as fast as the server answers. */
  rate?: number;
  /** Collect the sidecar's x-triage-overhead-ms response header. */
  overheadHeader?: boolean;
  /** Processes whose CPU use to report over the run (name → pid). */
  cpuPids?: Record<string, number>;
  /** Called for every counted 2xx answer: performance.now() at its end, and its latency (ms). */
  onLatency?: (atMs: number, latencyMs: number) => void;
}

export interface LoadResult {
  label: string;
  targetRps: number | null;
  connections: number;
  durationSec: number;
  /** 2xx responses per second over the run. */
  achievedRps: number;
  completed: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  latencyMs: Summary;
  /** x-triage-overhead-ms as reported by the sidecar on each response. */
  overheadHeaderMs?: Summary;
  /** Fixed rate: how late the pacer sent each request vs its schedule (load generator health). */
  sendLagMs?: Summary;
  /** Average cores used during the run, per process tree, and by this load generator. */
  cpuCores?: Record<string, number>;
  /** Measured segments pooled into this result (see mergeLoads). */
  segments?: number;
}

/** The raw samples behind a LoadResult, kept so that segments can be pooled. */
export interface RawSamples {
  latencies: number[];
  overheads: number[];
  lags: number[];
  /** 2xx answers, each connection's first included. */
  ok: number;
}

const OVERHEAD_HEADER = 'x-triage-overhead-ms';

export async function runLoad(spec: LoadSpec): Promise<LoadResult & { raw: RawSamples }> {
  const latencies: number[] = [];
  const overheads: number[] = [];
  const lags: number[] = [];
  let ok = 0;
  const rate = spec.rate;
  let clientIndex = 0;
  const start = performance.now();

  const setupClient = (client: AutocannonClient): void => {
    // Each connection's first answer also carries the TCP connect (autocannon writes before the socket is
    // up): not counted, neither in latency nor in the achieved rate.
    let first = true;
    client.on('response', (status: number, _bytes: number, duration: number) => {
      if (status >= 200 && status < 300) ok++;
      if (first) {
        first = false;
        return;
      }
      if (status >= 200 && status < 300) {
        latencies.push(duration);
        spec.onLatency?.(performance.now(), duration);
      }
    });
    if (spec.overheadHeader) {
      client.on('headers', (o: { headers?: string[] }) => {
        const h = o.headers;
        if (!h) return;
        for (let i = 0; i < h.length; i += 2) {
          if ((h[i] as string).toLowerCase() === OVERHEAD_HEADER) {
            overheads.push(Number(h[i + 1]));
            break;
          }
        }
      });
    }
    if (rate && client.rate) installPacer(client, clientIndex++, rate, start, lags);
  };

  const meter = spec.cpuPids ? cpuMeter(spec.cpuPids) : undefined;
  const result = await autocannon({
    url: spec.url,
    method: 'POST',
    headers: spec.headers,
    body: spec.body,
    connections: spec.connections,
    duration: spec.durationSec,
    timeout: 30,
    ...(rate ? { overallRate: rate, ignoreCoordinatedOmission: true } : {}),
    setupClient,
  });
  const cpu = meter?.stop();
  const durationSec = result.duration;
  const out: LoadResult & { raw: RawSamples } = {
    raw: { latencies, overheads, lags, ok },
    label: spec.label,
    targetRps: rate ?? null,
    connections: Math.min(spec.connections, rate ?? Infinity),
    durationSec,
    achievedRps: ok / durationSec,
    completed: result.totalCompletedRequests,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    latencyMs: summarize(latencies),
  };
  if (spec.overheadHeader) out.overheadHeaderMs = summarize(overheads);
  if (rate) out.sendLagMs = summarize(lags);
  if (cpu) out.cpuCores = cpu;
  return out;
}

/** Pools measured segments of the same load (same subject and rate) into one result. */
export function mergeLoads(label: string, parts: (LoadResult & { raw: RawSamples })[]): LoadResult {
  const first = parts[0]!;
  const durationSec = parts.reduce((a, p) => a + p.durationSec, 0);
  const cat = (k: 'latencies' | 'overheads' | 'lags'): number[] => parts.flatMap((p) => p.raw[k]);
  const latencies = cat('latencies');
  const out: LoadResult = {
    label,
    targetRps: first.targetRps,
    connections: first.connections,
    durationSec,
    achievedRps: parts.reduce((a, p) => a + p.raw.ok, 0) / durationSec,
    completed: parts.reduce((a, p) => a + p.completed, 0),
    non2xx: parts.reduce((a, p) => a + p.non2xx, 0),
    errors: parts.reduce((a, p) => a + p.errors, 0),
    timeouts: parts.reduce((a, p) => a + p.timeouts, 0),
    latencyMs: summarize(latencies),
    segments: parts.length,
  };
  if (first.overheadHeaderMs) out.overheadHeaderMs = summarize(cat('overheads'));
  if (first.sendLagMs) out.sendLagMs = summarize(cat('lags'));
  if (first.cpuCores) {
    const cpu: Record<string, number> = {};
    for (const k of Object.keys(first.cpuCores)) cpu[k] = parts.reduce((a, p) => a + (p.cpuCores?.[k] ?? 0) * p.durationSec, 0) / durationSec;
    out.cpuCores = cpu;
  }
  return out;
}

/** A LoadResult without its raw samples (for the results file). */
export function withoutRaw(r: LoadResult & { raw?: RawSamples }): LoadResult {
  const { raw: _raw, ...rest } = r;
  return rest;
}

/**
 * Spaces one connection's requests evenly: connection i of a run at `rate` req/s over C connections sends
 * at start + i/rate + k·C/rate. A response that comes back after the next slot makes the next request go
 * at once and the schedule restarts from there (no catch-up burst), so a server that cannot keep up shows
 * as an achieved rate below the target.
 */
function installPacer(client: AutocannonClient, index: number, rate: number, start: number, lags: number[]): void {
  const perConn = client.rate as number;
  const intervalMs = 1000 / perConn;
  let next = start + ((index * 1000) / rate) % intervalMs;
  const send = client._doRequest;
  client._doRequest = function paced(...args: unknown[]): void {
    const now = performance.now();
    const slot = next;
    const wait = slot - now;
    if (wait <= 0.05) {
      next = Math.max(slot, now) + intervalMs;
      lags.push(Math.max(0, -wait));
      send.apply(client, args);
      return;
    }
    next = slot + intervalMs;
    setTimeout(() => {
      if (client.destroyed) return;
      lags.push(Math.max(0, performance.now() - slot));
      send.apply(client, args);
    }, wait);
  };
}
