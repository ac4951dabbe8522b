// Profiling the operator child over chosen windows only: it runs with --inspect on a loopback port, and the
// benchmark drives the V8 profiler over the DevTools protocol (Profiler.start / Profiler.stop), so each
// phase gets its own .cpuprofile and the measured phases run without a profiler attached.
// Hot spots: self and inclusive time per function as file:line (1-based), with the operator's own
// functions listed separately.

import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
export interface CpuProfile { nodes: ProfileNode[]; startTime: number; endTime: number; samples?: number[]; timeDeltas?: number[] }

export class Inspector {
  readonly #ws: WebSocket;
  #id = 0;
  readonly #pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener('message', (ev) => {
      const m = JSON.parse(String(ev.data));
      const p = m.id !== undefined ? this.#pending.get(m.id) : undefined;
      if (!p) return;
      this.#pending.delete(m.id);
      if (m.error) p.reject(new Error(`${m.error.message}`));
      else p.resolve(m.result);
    });
  }

  static async attach(port: number): Promise<Inspector> {
    const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as { webSocketDebuggerUrl: string }[];
    const ws = new WebSocket(list[0]!.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true });
      ws.addEventListener('error', () => reject(new Error('cannot attach to the operator inspector')), { once: true });
    });
    return new Inspector(ws);
  }

  send<T = any>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = ++this.#id;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#ws.send(JSON.stringify({ id, method, params }));
    });
  }

  /** Profiles fn's duration (sampling every intervalUs) and writes the .cpuprofile to file. */
  async profile<T>(file: string, fn: () => Promise<T>, intervalUs = 500): Promise<{ result: T; profile: CpuProfile }> {
    await this.send('Profiler.enable');
    await this.send('Profiler.setSamplingInterval', { interval: intervalUs });
    await this.send('Profiler.start');
    let result: T | undefined;
    let failure: unknown;
    try {
      result = await fn();
    } catch (err) {
      failure = err;
    }
    const { profile } = await this.send<{ profile: CpuProfile }>('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    if (failure !== undefined) throw failure;
    return { result: result as T, profile };
  }

  close(): void { this.#ws.close(); }
}

export interface HotSpot { where: string; selfMs: number; selfPct: number; totalMs: number; totalPct: number }
/** A sampled call stack (innermost first, up to 8 frames, node_modules and node: internals shortened). */
export interface HotStack { ms: number; pct: number; stack: string }
export interface ProfileSummary {
  file: string; wallMs: number; busyMs: number; topSelf: HotSpot[]; topOperatorInclusive: HotSpot[]; topStacks: HotStack[];
  /** Busy time under a new outbound TLS connection (TLSSocket._start or createSecureContext on the stack): handshakes to the apiserver. */
  outboundTlsSetup: { ms: number; pct: number };
}

function where(cf: CallFrame, root: string): string {
  const name = cf.functionName || '(anonymous)';
  if (!cf.url) return /^\(/.test(name) ? name : `${name} (native)`;
  let file = cf.url.replace(/^file:\/\//, '');
  if (file.startsWith(root)) file = relative(root, file);
  return `${name} (${file}:${cf.lineNumber + 1})`;
}

/** Busy time excludes (idle); percentages are of busy time. */
export function summarize(p: CpuProfile, file: string, root: string, top = 15): ProfileSummary {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? deltas[i] ?? 0;
    selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + Math.max(0, dt));
  }
  let idleUs = 0;
  const selfBy = new Map<string, number>();
  const totalBy = new Map<string, number>();
  const stackBy = new Map<string, number>();
  let tlsUs = 0;
  const short = (cf: CallFrame) => {
    const w = where(cf, root);
    return w.replace(/\(.*node_modules\/([^/]+(?:\/[^/]+)?)\/.*?([^/]+:\d+)\)$/, '($1 $2)');
  };
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    if (n.callFrame.functionName === '(idle)') { idleUs += us; continue; }
    const key = where(n.callFrame, root);
    selfBy.set(key, (selfBy.get(key) ?? 0) + us);
    const chain: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined && chain.length < 8; cur = parent.get(cur)) {
      const cf = byId.get(cur)!.callFrame;
      if (cf.functionName === '(root)') break;
      chain.push(short(cf));
    }
    const sk = chain.join(' ← ');
    let tls = false;
    for (let cur: number | undefined = id; cur !== undefined && !tls; cur = parent.get(cur)) {
      const fn = byId.get(cur)!.callFrame.functionName;
      tls = fn === 'TLSSocket._start' || fn === 'createSecureContext';
    }
    if (tls) tlsUs += us;
    stackBy.set(sk, (stackBy.get(sk) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = where(byId.get(cur)!.callFrame, root);
      if (seen.has(k)) continue;
      seen.add(k);
      totalBy.set(k, (totalBy.get(k) ?? 0) + us);
    }
  }
  let busyUs = 0;
  for (const v of selfBy.values()) busyUs += v;
  busyUs = Math.max(1, busyUs);
  const spot = (k: string): HotSpot => ({
    where: k,
    selfMs: (selfBy.get(k) ?? 0) / 1000, selfPct: ((selfBy.get(k) ?? 0) / busyUs) * 100,
    totalMs: (totalBy.get(k) ?? 0) / 1000, totalPct: ((totalBy.get(k) ?? 0) / busyUs) * 100,
  });
  const own = /\((?:operator|api|sidecar)\/[^)]*\)$/;
  return {
    file,
    wallMs: (p.endTime - p.startTime) / 1000,
    busyMs: busyUs / 1000,
    topSelf: [...selfBy.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k]) => spot(k)),
    topOperatorInclusive: [...totalBy.entries()].filter(([k]) => own.test(k)).sort((a, b) => b[1] - a[1]).slice(0, top).map(([k]) => spot(k)),
    outboundTlsSetup: { ms: tlsUs / 1000, pct: (tlsUs / busyUs) * 100 },
    topStacks: [...stackBy.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([stack, us]) => ({ ms: us / 1000, pct: (us / busyUs) * 100, stack })),
  };
}
