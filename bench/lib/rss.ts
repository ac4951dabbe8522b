// Resident memory and CPU time of a process (and its descendants) from /proc, plus a periodic sampler.

import { readFileSync, readdirSync } from 'node:fs';

const CLK_TCK = 100; // USER_HZ: clock ticks per second for /proc/PID/stat times (100 on Linux x86-64)

/** VmRSS of one process in KiB, or undefined when it is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parentheses: fields start after the last ')'.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** pid and every descendant (a scan of /proc). */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(Number(d));
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(d));
    children.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    for (const c of children.get(p) ?? []) stack.push(c);
  }
  return out;
}

/** Summed VmRSS (KiB) of pid and its descendants. */
export function treeRssKiB(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) sum += rssKiB(p) ?? 0;
  return sum;
}

/** User+system CPU seconds consumed so far by one process. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  if (!f) return 0;
  // After the comm field: state(0) ppid(1) … utime(11) stime(12).
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** CPU seconds of pid and its descendants. */
export function treeCpuSeconds(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) sum += cpuSeconds(p);
  return sum;
}

export interface RssSampling {
  samples: number;
  minMiB: number;
  medianMiB: number;
  maxMiB: number;
}

/** Samples treeRss(pid) every intervalMs until stop() is called. */
export function sampleRss(pid: number, intervalMs: number, tree = true): { stop(): RssSampling } {
  const values: number[] = [];
  const take = (): void => {
    values.push((tree ? treeRssKiB(pid) : rssKiB(pid) ?? 0) / 1024);
  };
  take();
  const t = setInterval(take, intervalMs);
  return {
    stop() {
      clearInterval(t);
      take();
      const s = [...values].sort((a, b) => a - b);
      return { samples: s.length, minMiB: s[0] ?? Number.NaN, medianMiB: s[s.length >> 1] ?? Number.NaN, maxMiB: s[s.length - 1] ?? Number.NaN };
    },
  };
}

export const mib = (kib: number | undefined): number => (kib ?? Number.NaN) / 1024;

/** Busy CPU seconds of the whole machine so far (all cores; /proc/stat minus idle and iowait). */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest counted in user)
  const busy = (v[0] ?? 0) + (v[1] ?? 0) + (v[2] ?? 0) + (v[5] ?? 0) + (v[6] ?? 0) + (v[7] ?? 0);
  return busy / CLK_TCK;
}

/** Measures the CPU the given processes (trees), this process, and everything else use over a window. */
export function cpuMeter(pids: Record<string, number>): { stop(): Record<string, number> } {
  const t0 = performance.now();
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, treeCpuSeconds(p)]));
  const self0 = process.cpuUsage();
  const machine0 = machineBusySeconds();
  return {
    /**
     * Cores used on average over the window (1.0 = one core fully busy), per name, plus "loadgen" (this
     * process), "machine" (all busy cores) and "others" (machine minus the three: other people's jobs).
     */
    stop() {
      const secs = (performance.now() - t0) / 1000;
      const out: Record<string, number> = {};
      let ours = 0;
      for (const [k, p] of Object.entries(pids)) {
        out[k] = (treeCpuSeconds(p) - (before[k] ?? 0)) / secs;
        ours += out[k];
      }
      const self = process.cpuUsage(self0);
      out.loadgen = (self.user + self.system) / 1e6 / secs;
      out.machine = (machineBusySeconds() - machine0) / secs;
      out.others = Math.max(0, out.machine - ours - out.loadgen);
      return out;
    },
  };
}
