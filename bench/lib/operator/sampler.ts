// The operator process's RSS and CPU, sampled from /proc every `intervalMs` for the whole run, with named
// phases: per phase the peak and median RSS and the CPU used (cores: 1.0 = one core busy on average), plus
// whatever an optional probe reports at the phase's end (it is also called at the start, e.g. to reset a
// histogram: prom-client's event-loop lag metrics cover the time since the previous scrape).

import { readFileSync } from 'node:fs';
import { cpuSeconds, rssKiB, treeCpuSeconds } from '../rss.ts';

export interface Sample { t: number; rssMiB: number; cpuSec: number }
export interface PhaseStats {
  name: string; seconds: number; rssMiB: { start: number; median: number; peak: number; end: number }; cpuSec: number; cores: number;
  /** CPU used on the machine by processes outside this benchmark's tree (cores): other jobs disturbing the measurement. */
  otherCores: number;
  probe?: Record<string, number>;
}

export class ProcSampler {
  readonly samples: Sample[] = [];
  readonly phases: PhaseStats[] = [];
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;
  readonly #t0 = performance.now();
  readonly #probe: (() => Promise<Record<string, number>>) | undefined;

  constructor(pid: number, intervalMs = 100, probe?: () => Promise<Record<string, number>>) {
    this.#pid = pid;
    this.#probe = probe;
    this.take();
    this.#timer = setInterval(() => this.take(), intervalMs).unref();
  }

  take(): Sample {
    const s = { t: (performance.now() - this.#t0) / 1000, rssMiB: (rssKiB(this.#pid) ?? Number.NaN) / 1024, cpuSec: cpuSeconds(this.#pid) };
    this.samples.push(s);
    return s;
  }

  /** Runs fn as a named phase; its stats are kept in `phases` and returned with fn's result. */
  async phase<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; stats: PhaseStats }> {
    await this.#probe?.().catch(() => undefined);
    const other0 = otherCpuSeconds();
    const first = this.take();
    const from = this.samples.length - 1;
    const result = await fn();
    const last = this.take();
    const other1 = otherCpuSeconds();
    const probe = await this.#probe?.().catch(() => undefined);
    const window = this.samples.slice(from).map((s) => s.rssMiB).sort((a, b) => a - b);
    const seconds = last.t - first.t;
    const stats: PhaseStats = {
      name, seconds,
      rssMiB: { start: first.rssMiB, median: window[window.length >> 1]!, peak: window[window.length - 1]!, end: last.rssMiB },
      cpuSec: last.cpuSec - first.cpuSec,
      cores: (last.cpuSec - first.cpuSec) / Math.max(seconds, 1e-3),
      otherCores: (other1 - other0) / Math.max(seconds, 1e-3),
      ...(probe ? { probe } : {}),
    };
    this.phases.push(stats);
    return { result, stats };
  }

  peakRssMiB(): number {
    return Math.max(...this.samples.map((s) => s.rssMiB).filter(Number.isFinite));
  }

  /** The time series thinned to one sample per `everySec`, for the JSON. */
  series(everySec = 1): Sample[] {
    const out: Sample[] = [];
    let next = 0;
    for (const s of this.samples) if (s.t >= next) { out.push(s); next = s.t + everySec; }
    return out;
  }

  stop(): void { clearInterval(this.#timer); }
}


/**
 * Where a process's resident memory is, from /proc/PID/smaps (MiB): anonymous memory (the V8 heap, malloc
 * arenas, thread stacks...) split into the brk heap (glibc's main arena) and anonymous mappings, and
 * file-backed pages (the node binary's text and shared libraries, counted in RSS once touched).
 */
export function memoryMap(pid: number): { rss: number; anonMappings: number; brkHeap: number; nodeBinary: number; otherFiles: number; anonMappingCount: number } | undefined {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/smaps`, 'utf8'); } catch { return undefined; }
  const out = { rss: 0, anonMappings: 0, brkHeap: 0, nodeBinary: 0, otherFiles: 0, anonMappingCount: 0 };
  let kind: 'anon' | 'brk' | 'node' | 'file' = 'anon';
  for (const line of text.split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1]!.trim();
      kind = path === '' || path.startsWith('[anon') ? 'anon' : path === '[heap]' ? 'brk' : /\/node$/.test(path) ? 'node' : path.startsWith('[') ? 'anon' : 'file';
      if (kind === 'anon') out.anonMappingCount++;
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const mib = Number(m[1]) / 1024;
    out.rss += mib;
    if (kind === 'anon') out.anonMappings += mib;
    else if (kind === 'brk') out.brkHeap += mib;
    else if (kind === 'node') out.nodeBinary += mib;
    else out.otherFiles += mib;
  }
  return out;
}

/** CPU seconds the whole machine has been busy (all cores, from /proc/stat) minus this process tree's (USER_HZ = 100). */
export function otherCpuSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user). Interrupt time is left
  // out: loopback networking is largely softirq work that no process is charged for, much of it ours.
  const busy = (f[0]! + f[1]! + f[2]! + f[7]!) / 100;
  // Children this process has reaped (kubectl runs) count as its own: cutime + cstime.
  const self = readFileSync('/proc/self/stat', 'utf8');
  const sf = self.slice(self.lastIndexOf(')') + 2).split(' ');
  const reaped = (Number(sf[13]) + Number(sf[14])) / 100;
  return busy - treeCpuSeconds(process.pid) - reaped;
}
