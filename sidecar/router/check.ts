// `triage router check PATH`: does a router directory (a user's own, or the builtin) meet router/CONTRACT.md?
// Runs in-process (no worker): manifest schema and rules, the ONNX file's IR/opset/metadata/operators, the
// session's inputs and outputs, the tokenizer, a smoke inference (scores in [0, 1], batch-invariant,
// deterministic), and the golden and reference files when present.

import { readFileSync } from 'node:fs';
import { parseReferenceScores } from './calibration.ts';
import { ManifestError, modelTable, readRouterFiles, type RouterFiles } from './manifest.ts';
import { readOnnx } from './onnxProto.ts';
import { createPlacer } from './placement.ts';
import { RouterSession, type Row } from './session.ts';
import { RouterTokenizer } from './tokenize.ts';

export interface Finding {
  level: 'error' | 'warning' | 'ok';
  message: string;
}

const MAX_OPSET = 17;
const SMOKE = [
  '',
  'hi',
  'What is the capital of France?',
  'Implement a thread-safe LRU cache in Rust with O(1) get and put, and explain the memory ordering you chose.',
  'Prove that there are infinitely many primes. '.repeat(200),
];

export async function checkRouter(path: string): Promise<Finding[]> {
  const f: Finding[] = [];
  const error = (message: string) => f.push({ level: 'error', message });
  const warn = (message: string) => f.push({ level: 'warning', message });
  const ok = (message: string) => f.push({ level: 'ok', message });

  let files: RouterFiles;
  try {
    files = readRouterFiles(path);
  } catch (err) {
    if (err instanceof ManifestError) for (const e of err.errors) error(`manifest.json: ${e}`);
    else error((err as Error).message);
    return f;
  }
  const m = files.manifest;
  const table = modelTable(m);
  const K = table.length;
  ok(`manifest.json: version ${m.version}, K = ${K} models, max_length ${m.tokenizer.max_length}`);
  try {
    createPlacer({ models: table, anchors: m.placement?.anchors ?? {}, ratings: m.placement?.ratings ?? {} });
  } catch (err) {
    error(`manifest.json: placement: ${(err as Error).message}`);
  }

  // the ONNX file itself
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(files.model);
  } catch (err) {
    error(`${files.model}: ${(err as Error).message}`);
    return f;
  }
  try {
    const onnx = readOnnx(bytes);
    const opset = onnx.opsets.get('');
    if (opset === undefined) error(`${files.model}: no default-domain opset import`);
    else if (opset > MAX_OPSET) error(`${files.model}: opset ${opset} > ${MAX_OPSET} (the contract's maximum)`);
    else ok(`${files.model}: opset ${opset}, IR ${onnx.irVersion ?? '?'}`);
    for (const [domain, v] of onnx.opsets) if (domain && domain !== 'ai.onnx.ml') warn(`${files.model}: uses operator domain "${domain}" (v${v}); only onnxruntime's default CPU build is guaranteed`);
    if (m.opset !== undefined && opset !== undefined && m.opset !== opset) warn(`manifest.json says opset ${m.opset}, the model has ${opset}`);
    const v = onnx.metadata.get('triage.version');
    if (v === undefined) warn(`${files.model}: no "triage.version" metadata (the contract puts the manifest version there)`);
    else if (v !== m.version) error(`${files.model}: metadata triage.version ${v} ≠ manifest version ${m.version}`);
    const names = onnx.metadata.get('triage.models');
    if (names === undefined) warn(`${files.model}: no "triage.models" metadata`);
    else if (names !== table.map((x) => x.name).join(',')) error(`${files.model}: metadata triage.models does not list the manifest's models in index order`);
  } catch (err) {
    error(`${files.model}: not a readable ONNX model: ${(err as Error).message}`);
    return f;
  }

  let session: RouterSession;
  try {
    session = await RouterSession.create(files.model, K, { maxRows: 64, tokenBudget: 1 << 20 });
  } catch (err) {
    error(`${files.model}: onnxruntime cannot load it: ${(err as Error).message}`);
    return f;
  }
  try {
    const io = session.ioErrors();
    for (const e of io) error(`${files.model}: ${e}`);
    if (io.length) return f;
    ok(`${files.model}: inputs and outputs match the contract`);

    let tok: RouterTokenizer;
    try {
      tok = RouterTokenizer.fromFile(files.tokenizer, m.tokenizer.max_length);
    } catch (err) {
      error((err as Error).message);
      return f;
    }
    const encoded = SMOKE.map((t) => tok.encode(t));
    const longest = Math.max(...encoded.map((e) => e.length));
    if (longest > m.tokenizer.max_length) error(`tokenizer: produced ${longest} ids > max_length ${m.tokenizer.max_length}`);
    if (encoded.some((e) => e.length === 0)) warn('tokenizer: the empty string gives no ids (the contract expects the special tokens)');
    const maxId = Math.max(...encoded.flat());
    if (maxId >= tok.vocabSize) error(`tokenizer: id ${maxId} outside its own vocabulary (${tok.vocabSize})`);
    ok(`tokenizer: ${files.tokenizer} loads; vocabulary ${tok.vocabSize}`);

    // smoke inference: default pair (or the first two models)
    const strong = m.default_pair?.strong ?? table[0]!.name;
    const weak = m.default_pair?.weak ?? table[1]!.name;
    const si = table.find((x) => x.name.toLowerCase() === strong.toLowerCase())!.index;
    const wi = table.find((x) => x.name.toLowerCase() === weak.toLowerCase())!.index;
    const rows: Row[] = encoded.map((ids) => ({ ids, strong: [si, 1], weak: [wi, 1] }));
    try {
      const alone: number[] = [];
      for (const r of rows) alone.push((await session.score([r]))[0]!);
      const together = Array.from(await session.score(rows));
      const again = Array.from(await session.score(rows));
      const bad = alone.filter((s) => !(Number.isFinite(s) && s >= 0 && s <= 1));
      if (bad.length) error(`smoke inference: scores outside [0, 1]: ${bad.join(', ')}`);
      const dBatch = Math.max(...alone.map((s, i) => Math.abs(s - together[i]!)));
      if (dBatch > 1e-5) error(`smoke inference: not batch-invariant: a row's score changes by ${dBatch.toExponential(2)} when batched with others`);
      const dAgain = Math.max(...together.map((s, i) => Math.abs(s - again[i]!)));
      if (dAgain > 0) error(`smoke inference: not deterministic: the same batch scored twice differs by ${dAgain.toExponential(2)}`);
      if (!bad.length && dBatch <= 1e-5 && dAgain === 0) ok(`smoke inference (${strong} vs ${weak}): ${alone.map((s) => s.toFixed(4)).join(', ')}; batch-invariant, deterministic`);
    } catch (err) {
      error(`smoke inference failed: ${(err as Error).message}`);
      return f;
    }

    if (files.goldenScores) await checkGolden(files, tok, session, table, f);
    else warn('no golden_scores.json: conformance of other runtimes cannot be checked');
    if (files.referenceScores) {
      try {
        const ref = parseReferenceScores(JSON.parse(readFileSync(files.referenceScores, 'utf8')));
        if (!ref.default_pair) warn(`${files.referenceScores}: no default_pair quantiles`);
        ok(`${files.referenceScores}: ${Object.keys(ref.anchor_pairs ?? {}).length + (ref.default_pair ? 1 : 0)} quantile table(s) at ${ref.quantile_levels.length} levels`);
      } catch (err) {
        error(`${files.referenceScores}: ${(err as Error).message}`);
      }
    } else warn('no reference_scores.json: strongFraction thresholds start from the pod\'s own traffic only');
  } finally {
    await session.release();
  }
  return f;
}

interface Golden {
  strong?: string;
  weak?: string;
  strong_weights?: number[];
  weak_weights?: number[];
  tolerance?: { abs?: number };
  cases?: { prompt: string; input_ids?: number[]; score?: number }[];
}

async function checkGolden(files: RouterFiles, tok: RouterTokenizer, session: RouterSession, table: { name: string; index: number }[], f: Finding[]): Promise<void> {
  const path = files.goldenScores!;
  let g: Golden;
  try {
    g = JSON.parse(readFileSync(path, 'utf8')) as Golden;
  } catch (err) {
    f.push({ level: 'error', message: `${path}: ${(err as Error).message}` });
    return;
  }
  const cases = g.cases ?? [];
  const tol = Math.max(g.tolerance?.abs ?? 1e-5, 1e-6);
  let idMismatch = 0;
  for (const c of cases) if (c.input_ids && JSON.stringify(tok.encode(c.prompt)) !== JSON.stringify(c.input_ids)) idMismatch++;
  if (idMismatch) f.push({ level: 'error', message: `${path}: ${idMismatch} of ${cases.length} prompts tokenise to other ids than the golden file's` });
  const dense = (w: number[] | undefined, name: string | undefined): number[] | undefined => {
    if (w && w.length === table.length) return w.flatMap((x, i) => (x ? [i, x] : []));
    const t = name ? table.find((x) => x.name.toLowerCase() === name.toLowerCase()) : undefined;
    return t ? [t.index, 1] : undefined;
  };
  const s = dense(g.strong_weights, g.strong);
  const w = dense(g.weak_weights, g.weak);
  if (!s || !w) { f.push({ level: 'warning', message: `${path}: no usable strong/weak pair; scores not compared` }); return; }
  const withScore = cases.filter((c) => typeof c.score === 'number');
  const scores = await session.score(withScore.map((c) => ({ ids: tok.encode(c.prompt), strong: s, weak: w })));
  const worst = Math.max(0, ...withScore.map((c, i) => Math.abs(scores[i]! - c.score!)));
  if (worst > tol) f.push({ level: 'error', message: `${path}: scores differ from the golden ones by up to ${worst.toExponential(2)} (tolerance ${tol})` });
  else if (!idMismatch) f.push({ level: 'ok', message: `${path}: ${cases.length} golden prompts: ids equal, scores within ${worst.toExponential(1)}` });
}
