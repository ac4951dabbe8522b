// Builds tiny ONNX routers (protobuf wire format, by hand) for the runtime and `check` tests: a conforming one,
// and ones that break a single rule of the contract.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const enc = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v >= 128) { out.push((v % 128) | 128); v = Math.floor(v / 128); }
  out.push(v);
  return out;
}
const key = (field: number, wire: number) => varint(field * 8 + wire);
const vField = (field: number, n: number) => [...key(field, 0), ...varint(n)];
const bField = (field: number, bytes: number[] | Uint8Array) => [...key(field, 2), ...varint(bytes.length), ...bytes];
const sField = (field: number, s: string) => bField(field, [...enc.encode(s)]);

type Dim = number | string;
const FLOAT = 1;
const INT64 = 7;
const DOUBLE = 11;

function valueInfo(name: string, elem: number, dims: Dim[]): number[] {
  const shape = dims.flatMap((d) => bField(1, typeof d === 'number' ? vField(1, d) : sField(2, d)));
  const tensor = [...vField(1, elem), ...bField(2, shape)];
  return [...sField(1, name), ...bField(2, bField(1, tensor))];
}

function attrInt(name: string, i: number): number[] {
  return [...sField(1, name), ...vField(20, 2), ...vField(3, i)];
}
function attrInts(name: string, ints: number[]): number[] {
  return [...sField(1, name), ...vField(20, 7), ...ints.flatMap((i) => vField(8, i))];
}

function node(op: string, inputs: string[], outputs: string[], attrs: number[][] = []): number[] {
  return [...inputs.flatMap((i) => sField(1, i)), ...outputs.flatMap((o) => sField(2, o)), ...sField(3, `${op}_${outputs[0]}`), ...sField(4, op),
    ...attrs.flatMap((a) => bField(5, a))];
}

function tensor(name: string, elem: number, dims: number[], raw: Uint8Array): number[] {
  return [...dims.flatMap((d) => vField(1, d)), ...vField(2, elem), ...sField(8, name), ...bField(9, raw)];
}
const i64 = (xs: number[]) => new Uint8Array(BigInt64Array.from(xs.map(BigInt)).buffer);
const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

export interface TinyOptions {
  K: number;
  /** Name of the first input (default input_ids). */
  idsName?: string;
  opset?: number;
  /** Score output dtype: float32 (default) or float64. */
  scoreDouble?: boolean;
  /** Subtracts the batch mean: the score then depends on the batch. */
  batchDependent?: boolean;
  version?: string;
  models?: string[];
}

/**
 * score = sigmoid((strong − weak)·c + 0.01·n_tokens + 1e-6·Σ ids·mask), c_k = (k + 1)/K: deterministic, uses all
 * four inputs, batch-invariant unless batchDependent.
 */
export function tinyRouter(o: TinyOptions): Uint8Array {
  const K = o.K;
  const ids = o.idsName ?? 'input_ids';
  const nodes = [
    node('Cast', ['attention_mask'], ['maskf'], [attrInt('to', FLOAT)]),
    node('Cast', [ids], ['idsf'], [attrInt('to', FLOAT)]),
    node('Mul', ['idsf', 'maskf'], ['idsm']),
    node('ReduceSum', ['idsm', 'axis1'], ['idsum'], [attrInt('keepdims', 0)]),
    node('ReduceSum', ['maskf', 'axis1'], ['ntok'], [attrInt('keepdims', 0)]),
    node('Sub', ['strong_weights', 'weak_weights'], ['diff']),
    node('MatMul', ['diff', 'coef'], ['d']),
    node('Mul', ['ntok', 'c_len'], ['lenterm']),
    node('Mul', ['idsum', 'c_ids'], ['idterm']),
    node('Add', ['d', 'lenterm'], ['z1']),
    node('Add', ['z1', 'idterm'], ['z']),
  ];
  let last = 'z';
  if (o.batchDependent) {
    nodes.push(node('ReduceMean', ['z'], ['zmean'], [attrInts('axes', [0]), attrInt('keepdims', 1)]));
    nodes.push(node('Sub', ['z', 'zmean'], ['zc']));
    nodes.push(node('Add', ['zc', 'z'], ['zb']));
    last = 'zb';
  }
  if (o.scoreDouble) {
    nodes.push(node('Sigmoid', [last], ['s32']));
    nodes.push(node('Cast', ['s32'], ['score'], [attrInt('to', DOUBLE)]));
  } else nodes.push(node('Sigmoid', [last], ['score']));
  const inits = [
    tensor('axis1', INT64, [1], i64([1])),
    tensor('coef', FLOAT, [K], f32(Array.from({ length: K }, (_, k) => (k + 1) / K))),
    tensor('c_len', FLOAT, [], f32([0.01])),
    tensor('c_ids', FLOAT, [], f32([1e-6])),
  ];
  const graph = [
    ...nodes.flatMap((n) => bField(1, n)),
    ...sField(2, 'tiny_router'),
    ...inits.flatMap((t) => bField(5, t)),
    ...bField(11, valueInfo(ids, INT64, ['batch', 'seq'])),
    ...bField(11, valueInfo('attention_mask', INT64, ['batch', 'seq'])),
    ...bField(11, valueInfo('strong_weights', FLOAT, ['batch', K])),
    ...bField(11, valueInfo('weak_weights', FLOAT, ['batch', K])),
    ...bField(12, valueInfo('score', o.scoreDouble ? DOUBLE : FLOAT, ['batch'])),
  ];
  const meta = (k: string, v: string) => bField(14, [...sField(1, k), ...sField(2, v)]);
  const model = [
    ...vField(1, 8),
    ...sField(2, 'triage-test'),
    ...bField(7, graph),
    ...bField(8, [...sField(1, ''), ...vField(2, o.opset ?? 17)]),
    ...meta('triage.version', o.version ?? '0.1.0'),
    ...(o.models ? meta('triage.models', o.models.join(',')) : []),
  ];
  return Uint8Array.from(model);
}

export interface TinyDir { dir: string; models: string[] }

/** Writes a router directory: the tiny graph, the builtin tokenizer, a manifest for K models (+ overrides). */
export function writeTinyRouter(dir: string, tokenizerJson: string, opts: Partial<TinyOptions> & { manifest?: Record<string, unknown> } = {}): TinyDir {
  const K = opts.K ?? 4;
  const models = Array.from({ length: K }, (_, i) => `model-${i}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'router.onnx'), tinyRouter({ K, models, ...opts }));
  writeFileSync(join(dir, 'tokenizer.json'), tokenizerJson);
  const manifest = {
    version: '0.1.0',
    inputs: [
      { name: 'input_ids', dtype: 'int64', shape: ['batch', 'seq'] },
      { name: 'attention_mask', dtype: 'int64', shape: ['batch', 'seq'] },
      { name: 'strong_weights', dtype: 'float32', shape: ['batch', K] },
      { name: 'weak_weights', dtype: 'float32', shape: ['batch', K] },
    ],
    outputs: [{ name: 'score', dtype: 'float32', shape: ['batch'] }],
    tokenizer: { file: 'tokenizer.json', max_length: 512 },
    models: models.map((name, index) => ({ name, index, rating: 10 * (index + 1), anchor: true })),
    default_pair: { strong: models[K - 1], weak: models[0] },
    placement: { anchors: Object.fromEntries(models.map((m, i) => [m, 10 * (i + 1)])), ratings: { 'rated-model': 25 } },
    ...opts.manifest,
  };
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 1));
  return { dir, models };
}
