// Shared by the router tests: the builtin artefacts and the golden file.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_ROUTER_DIR } from '../../../sidecar/router/runtime.ts';

export interface GoldenCase { prompt: string; input_ids: number[]; n_tokens: number; score: number; score_vs_placed_weak: number; model_logits: number[] }
export interface Golden {
  version: string;
  strong: string;
  weak: string;
  strong_weights: number[];
  weak_weights: number[];
  placed_weak: { model: string; weights: number[] };
  cases: GoldenCase[];
}

export const ARTIFACTS = BUILTIN_ROUTER_DIR;
export const golden = JSON.parse(readFileSync(join(ARTIFACTS, 'golden_scores.json'), 'utf8')) as Golden;
export const manifest = JSON.parse(readFileSync(join(ARTIFACTS, 'manifest.json'), 'utf8')) as {
  version: string;
  models: { name: string; index: number; rating: number | null; anchor: boolean }[];
  placement: { anchors: Record<string, number>; ratings: Record<string, number> };
  default_pair: { strong: string; weak: string };
  tokenizer: { max_length: number };
};
export const tokenizerJson = readFileSync(join(ARTIFACTS, 'tokenizer.json'), 'utf8');
export const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8')) as T;
