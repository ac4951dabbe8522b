// A router directory's manifest.json (router/CONTRACT.md): its schema (TypeBox, validated with the project's ajv
// `compile`), the cross-field rules the schema cannot say, and the paths of the files it names.
// Open objects: a newer minor version may add fields, which are ignored here.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { compile } from '../../api/validate.ts';

const IOSpec = Type.Object({
  name: Type.String({ minLength: 1 }),
  dtype: Type.String({ minLength: 1 }),
  shape: Type.Array(Type.Union([Type.String(), Type.Integer({ minimum: 0 })])),
  doc: Type.Optional(Type.String()),
});

const ManifestModel = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256 }),
  index: Type.Integer({ minimum: 0 }),
  rating: Type.Optional(Type.Union([Type.Number(), Type.Null()])),
  anchor: Type.Optional(Type.Boolean()),
});

export const RouterManifest = Type.Object({
  name: Type.Optional(Type.String()),
  version: Type.String({ pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+([-+][0-9A-Za-z.+-]*)?$' }),
  format: Type.Optional(Type.String({ enum: ['onnx'] })),
  opset: Type.Optional(Type.Integer({ minimum: 1 })),
  ir_version: Type.Optional(Type.Integer({ minimum: 1 })),
  files: Type.Optional(Type.Object({
    model: Type.Optional(Type.String({ minLength: 1 })),
    tokenizer: Type.Optional(Type.String({ minLength: 1 })),
    reference_scores: Type.Optional(Type.String({ minLength: 1 })),
    golden_scores: Type.Optional(Type.String({ minLength: 1 })),
  })),
  inputs: Type.Array(IOSpec, { minItems: 1 }),
  outputs: Type.Array(IOSpec, { minItems: 1 }),
  tokenizer: Type.Object({
    file: Type.String({ minLength: 1 }),
    max_length: Type.Integer({ minimum: 2, maximum: 65536 }),
  }),
  models: Type.Array(ManifestModel, { minItems: 2 }),
  default_pair: Type.Optional(Type.Object({ strong: Type.String({ minLength: 1 }), weak: Type.String({ minLength: 1 }) })),
  placement: Type.Optional(Type.Object({
    anchors: Type.Record(Type.String(), Type.Number()),
    ratings: Type.Optional(Type.Record(Type.String(), Type.Number())),
  })),
});
export type RouterManifest = Static<typeof RouterManifest>;

/** The four inputs every router takes (router/CONTRACT.md "The ONNX session"). */
export const REQUIRED_INPUTS = [
  { name: 'input_ids', dtype: 'int64' },
  { name: 'attention_mask', dtype: 'int64' },
  { name: 'strong_weights', dtype: 'float32' },
  { name: 'weak_weights', dtype: 'float32' },
] as const;

const shape = compile<RouterManifest>(RouterManifest);

/** Schema + cross-field rules. Returns the errors, each with a path. */
export function validateManifest(data: unknown): { ok: true; value: RouterManifest } | { ok: false; errors: string[] } {
  const r = shape(data);
  if (!r.ok) return r;
  const m = r.value;
  const errors: string[] = [];
  const K = m.models.length;
  const seenIdx = new Set<number>();
  const seenName = new Set<string>();
  m.models.forEach((x, i) => {
    if (x.index >= K) errors.push(`models[${i}].index: ${x.index} is outside 0..${K - 1}`);
    if (seenIdx.has(x.index)) errors.push(`models[${i}].index: duplicate index ${x.index}`);
    seenIdx.add(x.index);
    const lower = x.name.toLowerCase();
    if (seenName.has(lower)) errors.push(`models[${i}].name: duplicate name "${x.name}" (names are matched lower-cased)`);
    seenName.add(lower);
  });
  for (const want of REQUIRED_INPUTS) {
    const i = m.inputs.findIndex((x) => x.name === want.name);
    if (i < 0) { errors.push(`inputs: missing "${want.name}"`); continue; }
    const spec = m.inputs[i]!;
    if (spec.dtype !== want.dtype) errors.push(`inputs[${i}].dtype: "${want.name}" must be ${want.dtype}, not ${spec.dtype}`);
    if (spec.shape.length !== 2) errors.push(`inputs[${i}].shape: "${want.name}" must have rank 2`);
    if (want.name.endsWith('_weights') && typeof spec.shape[1] === 'number' && spec.shape[1] !== K) {
      errors.push(`inputs[${i}].shape: "${want.name}" is [batch, ${spec.shape[1]}] but the model table has K = ${K} models`);
    }
  }
  const extra = m.inputs.filter((x) => !REQUIRED_INPUTS.some((r) => r.name === x.name));
  if (extra.length) errors.push(`inputs: unexpected ${extra.map((x) => `"${x.name}"`).join(', ')} (the contract has exactly four inputs)`);
  const so = m.outputs.findIndex((x) => x.name === 'score');
  if (so < 0) errors.push('outputs: missing "score"');
  else {
    const s = m.outputs[so]!;
    if (s.dtype !== 'float32') errors.push(`outputs[${so}].dtype: "score" must be float32, not ${s.dtype}`);
    if (s.shape.length !== 1) errors.push(`outputs[${so}].shape: "score" must be [batch]`);
  }
  const lo = m.outputs.findIndex((x) => x.name === 'model_logits');
  if (lo >= 0 && typeof m.outputs[lo]!.shape[1] === 'number' && m.outputs[lo]!.shape[1] !== K) {
    errors.push(`outputs[${lo}].shape: "model_logits" is [batch, ${m.outputs[lo]!.shape[1]}] but the model table has K = ${K} models`);
  }
  for (const name of Object.keys(m.placement?.anchors ?? {})) {
    if (!seenName.has(name.toLowerCase())) errors.push(`placement.anchors: "${name}" is not in models`);
  }
  if (m.default_pair) for (const side of ['strong', 'weak'] as const) {
    if (!seenName.has(m.default_pair[side].toLowerCase())) errors.push(`default_pair.${side}: "${m.default_pair[side]}" is not in models`);
  }
  return errors.length ? { ok: false, errors } : { ok: true, value: m };
}

export interface RouterFiles {
  dir: string;
  manifest: RouterManifest;
  model: string;
  tokenizer: string;
  /** Present only when the file exists. */
  referenceScores?: string;
  goldenScores?: string;
}

export class ManifestError extends Error {
  readonly errors: string[];
  constructor(where: string, errors: string[]) {
    super(`${where}: ${errors.join('; ')}`);
    this.name = 'ManifestError';
    this.errors = errors;
  }
}

/** A router path: its directory, its manifest.json, or its .onnx file (the manifest then sits beside it). */
export function routerDir(path: string): string {
  const p = resolve(path);
  if (existsSync(p) && statSync(p).isDirectory()) return p;
  return dirname(p);
}

/** Reads and validates <dir>/manifest.json and resolves the files it names. Throws ManifestError. */
export function readRouterFiles(path: string): RouterFiles {
  const dir = routerDir(path);
  const mpath = join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(mpath, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new ManifestError(mpath, [e.code === 'ENOENT' ? 'missing (a router directory needs manifest.json)' : `unreadable: ${e.message}`]);
  }
  const v = validateManifest(raw);
  if (!v.ok) throw new ManifestError(mpath, v.errors);
  const m = v.value;
  const modelFile = path.endsWith('.onnx') ? resolve(path) : join(dir, m.files?.model ?? 'router.onnx');
  const files: RouterFiles = { dir, manifest: m, model: modelFile, tokenizer: join(dir, m.tokenizer.file) };
  const missing: string[] = [];
  if (!existsSync(files.model)) missing.push(`model file ${files.model} is missing`);
  if (!existsSync(files.tokenizer)) missing.push(`tokenizer file ${files.tokenizer} is missing`);
  if (missing.length) throw new ManifestError(mpath, missing);
  const ref = join(dir, m.files?.reference_scores ?? 'reference_scores.json');
  if (existsSync(ref)) files.referenceScores = ref;
  const golden = join(dir, m.files?.golden_scores ?? 'golden_scores.json');
  if (existsSync(golden)) files.goldenScores = golden;
  return files;
}

/** The model table in index order. */
export function modelTable(m: RouterManifest): { name: string; index: number; rating: number | null; anchor: boolean }[] {
  return m.models.map((x) => ({ name: x.name, index: x.index, rating: x.rating ?? null, anchor: x.anchor ?? false })).sort((a, b) => a.index - b.index);
}
