// Hot spots of a V8 .cpuprofile (node --cpu-prof): self time and inclusive time per function, as file:line.

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  /** function (file:line), 1-based line as editors show it */
  where: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export interface ProfileSummary {
  file: string;
  sampledMs: number;
  idlePct: number;
  topSelf: HotSpot[];
  /** Inclusive time of this project's own functions (not node_modules, not node: internals). */
  topProjectInclusive: HotSpot[];
}

function where(cf: CallFrame, root: string): string {
  const name = cf.functionName || '(anonymous)';
  if (!cf.url) return name;
  let file = cf.url.replace(/^file:\/\//, '');
  if (file.startsWith(root)) file = relative(root, file);
  return `${name} (${file}:${cf.lineNumber + 1})`;
}

export function summarizeProfile(path: string, root: string, top = 20): ProfileSummary {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from samples × time deltas (more exact than hitCount × mean interval).
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    const dt = deltas[i + 1] ?? deltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  }
  let totalUs = 0;
  for (const v of selfUs.values()) totalUs += v;
  let idleUs = 0;
  const selfBy = new Map<string, number>();
  const totalBy = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    const fn = n.callFrame.functionName;
    if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') {
      if (fn === '(idle)') idleUs += us;
    }
    const key = where(n.callFrame, root);
    selfBy.set(key, (selfBy.get(key) ?? 0) + us);
    // Inclusive: credit every distinct function on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const k = where(byId.get(cur)!.callFrame, root);
      if (seen.has(k)) continue;
      seen.add(k);
      totalBy.set(k, (totalBy.get(k) ?? 0) + us);
    }
  }
  const busyUs = Math.max(1, totalUs - idleUs);
  const spot = (k: string): HotSpot => ({
    where: k,
    selfMs: (selfBy.get(k) ?? 0) / 1000,
    selfPct: ((selfBy.get(k) ?? 0) / busyUs) * 100,
    totalMs: (totalBy.get(k) ?? 0) / 1000,
    totalPct: ((totalBy.get(k) ?? 0) / busyUs) * 100,
  });
  const topSelf = [...selfBy.entries()]
    .filter(([k]) => !k.startsWith('(idle)'))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k]) => spot(k));
  const own = /\((?:sidecar|api|router|cli)\/[^)]*\)$/;
  const topProjectInclusive = [...totalBy.entries()]
    .filter(([k]) => own.test(k))
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k]) => spot(k));
  return { file: path, sampledMs: totalUs / 1000, idlePct: (idleUs / Math.max(1, totalUs)) * 100, topSelf, topProjectInclusive };
}
