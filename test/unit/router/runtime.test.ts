// sidecar/router/runtime.ts end to end through the worker: golden scores, concurrency, failure behaviour
// (corrupt or missing files, unknown models, worker crash and hang, timeouts, close), and the registry.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUILTIN_ROUTER_DIR, RouterRegistry, capText, loadRouter, type RouterEvent, type RouterRuntime } from '../../../sidecar/router/runtime.ts';
import { golden, manifest, tokenizerJson } from './helpers.ts';
import { writeTinyRouter } from './onnxBuild.ts';

const tmp = mkdtempSync(join(tmpdir(), 'triage-router-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(10);
  }
}

function copyBuiltin(name: string): string {
  const dir = join(tmp, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of ['manifest.json', 'router.onnx', 'tokenizer.json', 'reference_scores.json']) copyFileSync(join(BUILTIN_ROUTER_DIR, f), join(dir, f));
  return dir;
}

describe('builtin router through the worker', () => {
  let rt: RouterRuntime;
  const events: RouterEvent[] = [];
  before(async () => { rt = await loadRouter(BUILTIN_ROUTER_DIR, { timeoutMs: 2000, onEvent: (e) => events.push(e) }); });
  after(() => rt.close());

  it('is ready, with the manifest version', () => {
    assert.equal(rt.ready(), true);
    assert.equal(rt.version, manifest.version);
    assert.ok(events.some((e) => e.type === 'ready'));
  });

  it('scores every golden prompt as the golden file says (within 1e-4; float32-exact in practice)', async () => {
    for (const c of golden.cases) {
      const r = await rt.score(c.prompt, golden.strong, golden.weak);
      assert.ok('score' in r, JSON.stringify(r));
      assert.ok(Math.abs(r.score - c.score) <= 1e-4, `${c.prompt.slice(0, 30)}: ${r.score} vs ${c.score}`);
      const p = await rt.score(c.prompt, golden.strong, golden.placed_weak.model);
      assert.ok('score' in p && Math.abs(p.score - c.score_vs_placed_weak) <= 1e-4);
    }
  });

  it('many concurrent callers get the same scores as single calls (batching is invisible)', async () => {
    const single = new Map<string, number>();
    for (const c of golden.cases) {
      const r = await rt.score(c.prompt, golden.strong, golden.weak);
      assert.ok('score' in r);
      single.set(c.prompt, r.score);
    }
    const calls = Array.from({ length: 400 }, (_, i) => golden.cases[(i * 7) % golden.cases.length]!);
    const pairs = ['mixtral-8x7b-instruct-v0.1', 'llama-3.1-8b-instruct'];
    const results = await Promise.all(calls.map((c, i) => rt.score(c.prompt, golden.strong, pairs[i % 2]!)));
    results.forEach((r, i) => {
      assert.ok('score' in r, JSON.stringify(r));
      const c = calls[i]!;
      assert.equal(r.score, i % 2 === 0 ? single.get(c.prompt) : Math.fround(c.score_vs_placed_weak));
    });
    const batches = events.filter((e) => e.type === 'batch') as Extract<RouterEvent, { type: 'batch' }>[];
    assert.ok(batches.some((b) => b.size > 1), 'concurrent calls were batched');
  });

  it('an unplaceable model is an {error} naming it, at once and without the worker', async () => {
    const r = await rt.score('hi', 'gpt-4o', golden.weak);
    assert.ok('error' in r && /"gpt-4o"/.test(r.error) && r.kind === 'placement');
    const p = rt.pair('gpt-4o', golden.weak);
    assert.ok('error' in p);
  });

  it('addRatings() makes an unrated id placeable (a policy giving its rating)', async () => {
    rt.addRatings({ 'GPT-4o': 79.21 });
    const a = await rt.score('hi', 'gpt-4o', golden.weak);
    const b = await rt.score('hi', 'gpt-4o-2024-05-13', golden.weak);
    assert.ok('score' in a && 'score' in b && a.score === b.score);
  });

  it('pair() reports placement and what calibration starts from', () => {
    const p = rt.pair('gpt-4o-2024-05-13', 'gpt-4o-mini-2024-07-18');
    assert.ok(!('error' in p));
    assert.equal(p.reference, 'mixture');
    const d = rt.pair(golden.strong, golden.weak);
    assert.ok(!('error' in d) && d.reference === 'exact');
  });

  it('threshold(): fixed reference first, then the pod\'s own scores; observe() records', () => {
    const q = JSON.parse(readFileSync(join(BUILTIN_ROUTER_DIR, 'reference_scores.json'), 'utf8')).default_pair.quantiles as number[];
    assert.equal(rt.threshold('pol', golden.strong, golden.weak, 0.5), q[50]);
    for (let i = 0; i < 200; i++) rt.observe('pol', golden.strong, golden.weak, 0.7 + i / 10000);
    const c = rt.calibration('pol', golden.strong, golden.weak, 0.5);
    assert.equal(c.source, 'traffic');
    assert.ok(Math.abs(c.threshold - 0.70995) < 1e-9);
    // another policy with the same pair keeps its own state
    assert.equal(rt.calibration('other', golden.strong, golden.weak, 0.5).source, 'reference');
    rt.retainKeys((k) => k !== 'pol');
    assert.equal(rt.calibration('pol', golden.strong, golden.weak, 0.5).source, 'reference');
  });

  it('a huge prompt costs no huge copy: only its first max_length × 64 characters reach the worker', async () => {
    const long = 'Explain the proof in detail. '.repeat(40_000); // 1.16 M characters
    const r = await rt.score(long, golden.strong, golden.weak);
    const head = await rt.score(long.slice(0, 512 * 64), golden.strong, golden.weak);
    assert.ok('score' in r && 'score' in head && r.score === head.score);
    assert.equal(capText('ab\u{1F600}cd', 3), 'ab'); // never splits a surrogate pair
    assert.equal(capText('abc', 3), 'abc');
  });

  it('non-string input does not throw', async () => {
    const r = await rt.score(undefined as unknown as string, golden.strong, golden.weak);
    assert.ok('score' in r);
  });
});

describe('failure behaviour', () => {
  it('a missing model file: loadRouter rejects naming it', async () => {
    const dir = copyBuiltin('missing');
    rmSync(join(dir, 'router.onnx'));
    await assert.rejects(loadRouter(dir), /router\.onnx is missing/);
  });

  it('a corrupt (truncated) model file: loadRouter rejects with onnxruntime\'s reason', async () => {
    const dir = copyBuiltin('corrupt');
    const bytes = readFileSync(join(dir, 'router.onnx'));
    writeFileSync(join(dir, 'router.onnx'), bytes.subarray(0, 4096));
    await assert.rejects(loadRouter(dir, { startTimeoutMs: 20_000 }), (err: Error) => /cannot load .*router\.onnx/.test(err.message));
  });

  it('a manifest that does not match the model (wrong K): rejects', async () => {
    const dir = copyBuiltin('wrongk');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.models.push({ name: 'extra-model', index: m.models.length, rating: null, anchor: false });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    await assert.rejects(loadRouter(dir), /"strong_weights" is \[batch, 15\] but the model table has K = 16/); // the manifest contradicts itself
    for (const x of [...m.inputs, ...m.outputs]) if (x.shape[1] === 15) x.shape[1] = 16;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    await assert.rejects(loadRouter(dir), /router\.onnx does not meet the router contract: input "strong_weights" is \[batch, 15\] but the manifest's model table has K = 16/);
  });

  it('no manifest: rejects saying so', async () => {
    await assert.rejects(loadRouter(join(tmp, 'nowhere')), /manifest\.json.*missing/);
  });

  it('a worker crash answers pending requests with {error}, then the worker restarts', async () => {
    const dir = writeTinyRouter(join(tmp, 'tiny-crash'), tokenizerJson).dir;
    const events: RouterEvent[] = [];
    const rt = await loadRouter(dir, { testHooks: true, timeoutMs: 5000, warmup: 1, onEvent: (e) => events.push(e) });
    try {
      const before = await rt.score('hello', 'model-3', 'model-0');
      assert.ok('score' in before);
      (rt as unknown as { pool: { testMessage(m: unknown): void } }).pool.testMessage({ t: 'test-hang', ms: 300 });
      const pending = rt.score('hello', 'model-3', 'model-0');
      (rt as unknown as { pool: { testMessage(m: unknown): void } }).pool.testMessage({ t: 'test-crash' });
      const r = await pending;
      assert.ok('error' in r && /crash/.test(r.error) && r.kind === 'crash', JSON.stringify(r));
      assert.equal(rt.ready(), false);
      const during = await rt.score('hello', 'model-3', 'model-0');
      assert.ok('error' in during && /restarting/.test(during.error) && during.kind === 'unavailable');
      await until(() => rt.ready());
      const again = await rt.score('hello', 'model-3', 'model-0');
      assert.ok('score' in again && again.score === before.score);
      assert.ok(events.some((e) => e.type === 'restart'));
      assert.equal(rt.stats().restarts, 1);
    } finally {
      await rt.close();
    }
  });

  it('a request waiting past timeoutMs gets {error: timeout}; a hung worker is terminated and restarted', async () => {
    const dir = writeTinyRouter(join(tmp, 'tiny-hang'), tokenizerJson).dir;
    const rt = await loadRouter(dir, { testHooks: true, timeoutMs: 50, hangMs: 400, warmup: 1 });
    try {
      (rt as unknown as { pool: { testMessage(m: unknown): void } }).pool.testMessage({ t: 'test-hang', ms: 5000 });
      const t0 = performance.now();
      const r = await rt.score('hello', 'model-3', 'model-0');
      const waited = performance.now() - t0;
      assert.ok('error' in r && /timeout/.test(r.error) && r.kind === 'timeout', JSON.stringify(r));
      assert.ok(waited < 1000, `answered after ${waited} ms`); // not after the 5 s hang
      await until(() => rt.stats().restarts === 1, 3000);
      await until(() => rt.ready());
      const ok = await rt.score('hello', 'model-3', 'model-0');
      assert.ok('score' in ok);
    } finally {
      await rt.close();
    }
  });

  it('after close(): {error}, never a throw', async () => {
    const dir = writeTinyRouter(join(tmp, 'tiny-close'), tokenizerJson).dir;
    const rt = await loadRouter(dir, { warmup: 1 });
    await rt.close();
    const r = await rt.score('x', 'model-1', 'model-0');
    assert.ok('error' in r && /closed/.test(r.error) && r.kind === 'closed');
    await rt.close();
  });
});

describe('RouterRegistry', () => {
  it('loads each directory once, shared by every policy naming it; retain() closes the unused', async () => {
    const dir = writeTinyRouter(join(tmp, 'tiny-reg'), tokenizerJson).dir;
    const reg = new RouterRegistry({ warmup: 1 });
    try {
      const [a, b] = await Promise.all([reg.get(dir), reg.get(dir)]);
      assert.equal(a, b);
      assert.equal(reg.peek(dir), a);
      assert.equal(reg.peek('builtin'), undefined);
      const r = await a.score('hello', 'rated-model', 'model-0');
      assert.ok('score' in r);
      await reg.retain(['builtin']);
      assert.equal(reg.peek(dir), undefined);
      assert.equal(a.ready(), false);
    } finally {
      await reg.closeAll();
    }
  });

  it('a failed load is not cached; URLs are refused with a hint', async () => {
    const reg = new RouterRegistry({ warmup: 1 });
    await assert.rejects(reg.get(join(tmp, 'not-yet')), /manifest/);
    writeTinyRouter(join(tmp, 'not-yet'), tokenizerJson);
    const rt = await reg.get(join(tmp, 'not-yet'));
    assert.ok(rt.ready());
    await assert.rejects(reg.get('https://example.com/router'), /mount the router directory/);
    await reg.closeAll();
  });
});
