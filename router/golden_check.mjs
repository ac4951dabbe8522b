// Conformance + latency check of the shipped router under onnxruntime-node (what the sidecar runs).
// `make router-node-check` (needs `make setup`). Exits non-zero if any golden score differs by more than the
// tolerance in golden_scores.json. Not the sidecar's runtime: a reference for it.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'artifacts');
const g = JSON.parse(fs.readFileSync(path.join(dir, 'golden_scores.json'), 'utf8'));
const rss0 = process.memoryUsage().rss;
const sess = await ort.InferenceSession.create(path.join(dir, 'router.onnx'), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
const K = g.strong_weights.length;
const f32 = (a) => new ort.Tensor('float32', Float32Array.from(a), [1, K]);
const feeds = (ids, weak) => ({
  input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
  attention_mask: new ort.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
  strong_weights: f32(g.strong_weights),
  weak_weights: f32(weak),
});
let maxd = 0;
for (const c of g.cases) {
  const a = await sess.run(feeds(c.input_ids, g.weak_weights));
  const b = await sess.run(feeds(c.input_ids, g.placed_weak.weights));
  maxd = Math.max(maxd, Math.abs(a.score.data[0] - c.score), Math.abs(b.score.data[0] - c.score_vs_placed_weak));
}
const long = [101, ...Array.from({ length: 510 }, (_, i) => 1000 + ((i * 7919) % 29000)), 102];
const f = feeds(long, g.weak_weights);
for (let i = 0; i < 200; i++) await sess.run(f);
const ts = [];
for (let i = 0; i < 2000; i++) {
  const t0 = process.hrtime.bigint();
  await sess.run(f);
  ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
ts.sort((x, y) => x - y);
const res = {
  cases: g.cases.length, max_abs_diff: maxd, tolerance: g.tolerance.abs,
  p50_ms_512_tokens: +ts[1000].toFixed(4), p99_ms_512_tokens: +ts[1980].toFixed(4),
  rss_added_mib: +((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(1),
  onnxruntime_node: JSON.parse(fs.readFileSync(new URL(import.meta.resolve('onnxruntime-node/package.json')), 'utf8')).version,
};
console.log(JSON.stringify(res));
process.exit(maxd <= g.tolerance.abs ? 0 : 1);
