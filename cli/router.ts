// `triage router …`: the classifier router from the command line, through the same runtime the sidecar uses.
//
//   score      JSONL {"prompt": …} on stdin → JSONL {"score": p} on stdout, in order
//   eval       RouteLLM metrics (PGR curve, APGR, CPT) of the router on a labelled JSONL file, beside random/oracle
//   calibrate  the threshold for a strong share p: reference quantiles, or the quantile of scored prompts
//   check      a router directory against router/CONTRACT.md; exit 1 on any error

import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { thresholdForShare } from '../sidecar/router/calibration.ts';
import { checkRouter } from '../sidecar/router/check.ts';
import { oracleMetrics, quantile, randomMetrics, routellmMetrics, type RouterMetrics } from '../sidecar/router/metrics.ts';
import { BUILTIN_ROUTER_DIR, isBuiltin, loadRouter, type RouterRuntime } from '../sidecar/router/runtime.ts';

export interface RouterIO {
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
}

const USAGE = `usage: triage router <command> [flags]

commands:
  score      [--model DIR] [--strong NAME --weak NAME]
             JSONL {"prompt": "..."} on stdin → one JSONL {"score": p} per line, in order
  eval       --data FILE [--model DIR] [--strong NAME --weak NAME] [--json]
             rows {"prompt": "...", "quality": {"<strong>": q, "<weak>": q}} (or "q_strong"/"q_weak"):
             RouteLLM's PGR at 10 points, APGR, CPT(50%), CPT(80%), beside the random router and the oracle
  calibrate  --strong-fraction P [--model DIR] [--strong NAME --weak NAME] [--data FILE]
             the threshold that sends share P to strong: from the reference quantiles, or from the scores
             of the prompts in FILE (JSONL {"prompt": ...})
  check      PATH [--json]
             validate a router directory (manifest.json, ONNX, tokenizer) against the contract; exit 1 on errors

  --model defaults to the builtin router (${BUILTIN_ROUTER_DIR}); --strong/--weak default to its manifest's
  default_pair. NAMEs are the router's model names or rated provider model ids.
`;

const defaultIO = (): RouterIO => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });

export async function runRouterCommand(argv: string[], io: RouterIO = defaultIO()): Promise<number> {
  const [cmd, ...rest] = argv;
  const err = (msg: string) => { io.stderr.write(`triage router: ${msg}\n`); };
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        model: { type: 'string' },
        strong: { type: 'string' },
        weak: { type: 'string' },
        data: { type: 'string' },
        'strong-fraction': { type: 'string' },
        json: { type: 'boolean' },
        concurrency: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help || cmd === undefined || cmd === 'help' || cmd === '-h' || cmd === '--help') {
    (cmd === undefined ? io.stderr : io.stdout).write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  const model = isBuiltin(values.model as string | undefined) ? BUILTIN_ROUTER_DIR : (values.model as string);
  try {
    switch (cmd) {
      case 'score': return await score(io, model, values);
      case 'eval': return await evaluate(io, model, values);
      case 'calibrate': return await calibrate(io, model, values);
      case 'check': {
        const path = positionals[0];
        if (!path) { err('check needs a PATH'); return 2; }
        return await check(io, path, values.json === true);
      }
    }
  } catch (e) {
    err((e as Error).message);
    return 1;
  }
  err(`unknown command "${cmd}"\n${USAGE}`);
  return 2;
}

/** The runtime for batch use: the same code path as the sidecar, with a deadline suited to a queue of thousands. */
function open(model: string): Promise<RouterRuntime> {
  return loadRouter(model, { timeoutMs: 120_000, warmup: 1, maxBatch: 64 });
}

function pairOf(rt: RouterRuntime, values: Record<string, unknown>): { strong: string; weak: string } {
  const strong = (values.strong as string | undefined) ?? rt.manifest.default_pair?.strong;
  const weak = (values.weak as string | undefined) ?? rt.manifest.default_pair?.weak;
  if (!strong || !weak) throw new Error('this router has no default_pair: give --strong and --weak');
  const p = rt.pair(strong, weak);
  if ('error' in p) throw new Error(p.error);
  return { strong, weak };
}

async function* jsonLines(input: Readable): AsyncGenerator<{ line: number; value: unknown } | { line: number; error: string }> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const raw of rl) {
    n++;
    if (!raw.trim()) continue;
    try {
      yield { line: n, value: JSON.parse(raw) as unknown };
    } catch (e) {
      yield { line: n, error: `line ${n}: ${(e as Error).message}` };
    }
  }
}

function promptOf(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.prompt === 'string') return o.prompt;
    if (typeof o.text === 'string') return o.text;
  }
  return undefined;
}

async function score(io: RouterIO, model: string, values: Record<string, unknown>): Promise<number> {
  const rt = await open(model);
  let failed = 0;
  try {
    const { strong, weak } = pairOf(rt, values);
    const limit = Math.max(1, Number(values.concurrency ?? 512) || 512);
    const inflight: Promise<string>[] = [];
    const write = (s: string) => new Promise<void>((resolve) => { if (io.stdout.write(s)) resolve(); else io.stdout.once('drain', () => resolve()); });
    for await (const row of jsonLines(io.stdin)) {
      let out: Promise<string>;
      if ('error' in row) out = Promise.resolve(JSON.stringify({ error: row.error }));
      else {
        const prompt = promptOf(row.value);
        out = prompt === undefined
          ? Promise.resolve(JSON.stringify({ error: `line ${row.line}: no "prompt" string` }))
          : rt.score(prompt, strong, weak).then((r) => JSON.stringify('score' in r ? { score: r.score } : { error: r.error }));
      }
      inflight.push(out);
      if (inflight.length >= limit) {
        const line = await inflight.shift()!;
        if (line.startsWith('{"error"')) failed++;
        await write(line + '\n');
      }
    }
    for (const p of inflight) {
      const line = await p;
      if (line.startsWith('{"error"')) failed++;
      await write(line + '\n');
    }
  } finally {
    await rt.close();
  }
  if (failed) io.stderr.write(`triage router: ${failed} line(s) could not be scored\n`);
  return failed ? 1 : 0;
}

interface EvalRow { prompt: string; qs: number; qw: number }

function readEvalRows(file: string, strong: string, weak: string): { rows: EvalRow[]; skipped: number } {
  const rows: EvalRow[] = [];
  let skipped = 0;
  const lines = readFileSync(file, 'utf8').split('\n');
  const pick = (q: Record<string, unknown>, name: string): unknown => {
    if (name in q) return q[name];
    const lower = name.toLowerCase();
    for (const [k, v] of Object.entries(q)) if (k.toLowerCase() === lower) return v;
    return undefined;
  };
  lines.forEach((raw, i) => {
    if (!raw.trim()) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(raw) as Record<string, unknown>;
    } catch (e) {
      throw new Error(`${file}:${i + 1}: ${(e as Error).message}`);
    }
    const prompt = promptOf(o);
    if (prompt === undefined) throw new Error(`${file}:${i + 1}: no "prompt" string`);
    const q = (o.quality && typeof o.quality === 'object' ? o.quality : {}) as Record<string, unknown>;
    const qs = o.q_strong ?? pick(q, strong);
    const qw = o.q_weak ?? pick(q, weak);
    if (typeof qs !== 'number' || typeof qw !== 'number' || !Number.isFinite(qs) || !Number.isFinite(qw)) { skipped++; return; }
    rows.push({ prompt, qs, qw });
  });
  return { rows, skipped };
}

async function scoreAll(rt: RouterRuntime, prompts: string[], strong: string, weak: string): Promise<number[]> {
  const out: number[] = [];
  const chunk = 512;
  for (let i = 0; i < prompts.length; i += chunk) {
    const rs = await Promise.all(prompts.slice(i, i + chunk).map((p) => rt.score(p, strong, weak)));
    for (const r of rs) {
      if ('error' in r) throw new Error(`scoring failed: ${r.error}`);
      out.push(r.score);
    }
  }
  return out;
}

async function evaluate(io: RouterIO, model: string, values: Record<string, unknown>): Promise<number> {
  const file = values.data as string | undefined;
  if (!file) { io.stderr.write('triage router: eval needs --data FILE\n'); return 2; }
  const rt = await open(model);
  let report: { router: RouterMetrics; random: ReturnType<typeof randomMetrics>; oracle: ReturnType<typeof oracleMetrics> };
  let meta: { strong: string; weak: string; n: number; skipped: number; version: string };
  try {
    const { strong, weak } = pairOf(rt, values);
    const { rows, skipped } = readEvalRows(file, strong, weak);
    if (rows.length < 2) throw new Error(`${file}: ${rows.length} usable row(s) with qualities for ${strong} and ${weak}; need at least 2`);
    const scores = await scoreAll(rt, rows.map((r) => r.prompt), strong, weak);
    const qs = rows.map((r) => r.qs);
    const qw = rows.map((r) => r.qw);
    report = { router: routellmMetrics(scores, qs, qw), random: randomMetrics(qs, qw), oracle: oracleMetrics(qs, qw) };
    meta = { strong, weak, n: rows.length, skipped, version: rt.version };
  } finally {
    await rt.close();
  }
  if (values.json) {
    io.stdout.write(JSON.stringify({ ...meta, ...report }, null, 1) + '\n');
    return 0;
  }
  const r = report.router;
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
  io.stdout.write([
    `router ${meta.version}: ${meta.strong} (strong) vs ${meta.weak} (weak), ${meta.n} prompts${meta.skipped ? ` (${meta.skipped} skipped: no qualities for the pair)` : ''}`,
    `quality: strong ${f(r.q_strong)}, weak ${f(r.q_weak)}`,
    '',
    'strong share  PGR',
    ...r.curve.strong_fraction.map((c, i) => `${(c * 100).toFixed(1).padStart(11)}%  ${f(r.curve.pgr[i]!)}`),
    '',
    '                    router   random   oracle',
    `APGR (trapezoid)     ${f(r.apgr)}    ${f(report.random.apgr)}    ${f(report.oracle.apgr)}`,
    `APGR (10-pt avg)     ${f(r.apgr_10pt)}    ${f(report.random.apgr_10pt)}    ${f(report.oracle.apgr_10pt)}`,
    `CPT(50%)             ${f(r.cpt50)}    ${f(report.random.cpt50)}    ${f(report.oracle.cpt50)}`,
    `CPT(80%)             ${f(r.cpt80)}    ${f(report.random.cpt80)}    ${f(report.oracle.cpt80)}`,
    '',
  ].join('\n'));
  return 0;
}

async function calibrate(io: RouterIO, model: string, values: Record<string, unknown>): Promise<number> {
  const p = Number(values['strong-fraction']);
  if (values['strong-fraction'] === undefined || !(p >= 0 && p <= 1)) { io.stderr.write('triage router: calibrate needs --strong-fraction P with 0 ≤ P ≤ 1\n'); return 2; }
  const rt = await open(model);
  try {
    const { strong, weak } = pairOf(rt, values);
    const file = values.data as string | undefined;
    if (file) {
      const prompts: string[] = [];
      for await (const row of jsonLines(createReadStream(file))) {
        if ('error' in row) throw new Error(`${file}: ${row.error}`);
        const prompt = promptOf(row.value);
        if (prompt === undefined) throw new Error(`${file}:${row.line}: no "prompt" string`);
        prompts.push(prompt);
      }
      if (!prompts.length) throw new Error(`${file}: no prompts`);
      const scores = await scoreAll(rt, prompts, strong, weak);
      const t = thresholdForShare(p, (level) => quantile(scores, level));
      const share = scores.filter((s) => s >= t).length / scores.length;
      io.stdout.write(`${t}\n`);
      io.stderr.write(`threshold ${t} for ${strong} vs ${weak}: quantile ${(1 - p).toFixed(4)} of ${scores.length} scored prompts from ${file}; strong share on them ${(share * 100).toFixed(1)}%\n`);
    } else {
      const c = rt.calibration('cli', strong, weak, p);
      const pair = rt.pair(strong, weak);
      const how = 'error' in pair ? '' : pair.reference;
      io.stdout.write(`${c.threshold}\n`);
      io.stderr.write(c.source === 'reference'
        ? `threshold ${c.threshold} for ${strong} vs ${weak}: reference quantile ${(1 - p).toFixed(4)} (${how === 'exact' ? 'the pair\'s own reference table' : 'combined from the anchor pairs\' reference tables'})\n`
        : `no reference quantiles for ${strong} vs ${weak}: give --data FILE with prompts to score\n`);
      if (c.source !== 'reference') return 1;
    }
  } finally {
    await rt.close();
  }
  return 0;
}

async function check(io: RouterIO, path: string, json: boolean): Promise<number> {
  const findings = await checkRouter(path);
  const errors = findings.filter((f) => f.level === 'error').length;
  if (json) io.stdout.write(JSON.stringify({ path, ok: errors === 0, findings }, null, 1) + '\n');
  else {
    for (const f of findings) io.stdout.write(`${f.level === 'ok' ? 'ok     ' : f.level === 'warning' ? 'warning' : 'ERROR  '}  ${f.message}\n`);
    io.stdout.write(errors ? `${errors} error(s): ${path} does not meet the router contract\n` : `${path} meets the router contract\n`);
  }
  return errors ? 1 : 0;
}
