// sidecar/router/check.ts (`triage router check`): accepts the builtin router, rejects routers that break the
// contract: truncated ONNX, wrong input names, opset > 17, float64 score, batch-dependent scores, a manifest
// with the wrong K or missing files, golden ids that the tokenizer does not reproduce.

import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkRouter, type Finding } from '../../../sidecar/router/check.ts';
import { validateManifest } from '../../../sidecar/router/manifest.ts';
import { readOnnx } from '../../../sidecar/router/onnxProto.ts';
import { BUILTIN_ROUTER_DIR } from '../../../sidecar/router/runtime.ts';
import { tokenizerJson } from './helpers.ts';
import { tinyRouter, writeTinyRouter } from './onnxBuild.ts';

const tmp = mkdtempSync(join(tmpdir(), 'triage-check-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const errors = (f: Finding[]) => f.filter((x) => x.level === 'error').map((x) => x.message);

function copyBuiltin(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const f of ['manifest.json', 'router.onnx', 'tokenizer.json', 'reference_scores.json', 'golden_scores.json']) copyFileSync(join(BUILTIN_ROUTER_DIR, f), join(dir, f));
  return dir;
}

describe('triage router check', () => {
  it('accepts the builtin router (directory, manifest.json or router.onnx path)', async () => {
    for (const p of [BUILTIN_ROUTER_DIR, join(BUILTIN_ROUTER_DIR, 'manifest.json'), join(BUILTIN_ROUTER_DIR, 'router.onnx')]) {
      const f = await checkRouter(p);
      assert.deepEqual(errors(f), [], p);
      assert.ok(f.some((x) => /golden prompts: ids equal/.test(x.message)));
      assert.ok(f.some((x) => /batch-invariant, deterministic/.test(x.message)));
    }
  });

  it('accepts a conforming tiny router of its own (K = 4), warning about the optional files', async () => {
    const { dir } = writeTinyRouter(join(tmp, 'ok'), tokenizerJson);
    const f = await checkRouter(dir);
    assert.deepEqual(errors(f), []);
    assert.ok(f.some((x) => x.level === 'warning' && /golden/.test(x.message)));
  });

  it('rejects a truncated ONNX file', async () => {
    const dir = copyBuiltin('truncated');
    const bytes = readFileSync(join(dir, 'router.onnx'));
    writeFileSync(join(dir, 'router.onnx'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const e = errors(await checkRouter(dir));
    assert.equal(e.length, 1);
    assert.match(e[0]!, /not a readable ONNX model: truncated/);
  });

  it('rejects wrong input names', async () => {
    const { dir } = writeTinyRouter(join(tmp, 'names'), tokenizerJson, { idsName: 'ids' });
    const e = errors(await checkRouter(dir));
    assert.ok(e.some((m) => /input "input_ids" is missing/.test(m)), e.join('\n'));
    assert.ok(e.some((m) => /unexpected input "ids"/.test(m)));
  });

  it('rejects opset 18, a float64 score, and a batch-dependent score', async () => {
    const e18 = errors(await checkRouter(writeTinyRouter(join(tmp, 'op18'), tokenizerJson, { opset: 18 }).dir));
    assert.ok(e18.some((m) => /opset 18 > 17/.test(m)), e18.join('\n'));
    const ed = errors(await checkRouter(writeTinyRouter(join(tmp, 'f64'), tokenizerJson, { scoreDouble: true }).dir));
    assert.ok(ed.some((m) => /"score" is float64/.test(m)), ed.join('\n'));
    const eb = errors(await checkRouter(writeTinyRouter(join(tmp, 'batch'), tokenizerJson, { batchDependent: true }).dir));
    assert.ok(eb.some((m) => /not batch-invariant/.test(m)), eb.join('\n'));
  });

  it('rejects a manifest whose K does not match the model', async () => {
    const { dir } = writeTinyRouter(join(tmp, 'k'), tokenizerJson, { K: 4 });
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.models.push({ name: 'model-4', index: 4, rating: 50, anchor: false });
    m.inputs[2].shape[1] = 5;
    m.inputs[3].shape[1] = 5;
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const e = errors(await checkRouter(dir));
    assert.ok(e.some((x) => /"strong_weights" is \[batch, 4\] but the manifest's model table has K = 5/.test(x)), e.join('\n'));
  });

  it('rejects metadata that contradicts the manifest, and golden ids the tokenizer does not give', async () => {
    const dir = copyBuiltin('meta');
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    m.version = '0.2.0';
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m));
    const g = JSON.parse(readFileSync(join(dir, 'golden_scores.json'), 'utf8'));
    g.cases[0].input_ids = [101, 1, 102];
    writeFileSync(join(dir, 'golden_scores.json'), JSON.stringify(g));
    const e = errors(await checkRouter(dir));
    assert.ok(e.some((x) => /triage\.version 0\.1\.0 ≠ manifest version 0\.2\.0/.test(x)), e.join('\n'));
    assert.ok(e.some((x) => /1 of 21 prompts tokenise to other ids/.test(x)), e.join('\n'));
  });

  it('reports manifest schema errors with paths, and missing files', async () => {
    const dir = join(tmp, 'schema');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ version: 'one', inputs: [], outputs: [], tokenizer: { file: 't.json' }, models: [] }));
    const e = errors(await checkRouter(dir));
    assert.ok(e.some((x) => /version/.test(x)) && e.some((x) => /tokenizer\.max_length: required/.test(x)), e.join('\n'));
    const { dir: d2 } = writeTinyRouter(join(tmp, 'nofile'), tokenizerJson);
    rmSync(join(d2, 'tokenizer.json'));
    assert.ok(errors(await checkRouter(d2)).some((x) => /tokenizer file .* is missing/.test(x)));
  });
});

describe('manifest and ONNX reader', () => {
  it('the builtin manifest validates; duplicate names/indices and unknown anchors do not', () => {
    const m = JSON.parse(readFileSync(join(BUILTIN_ROUTER_DIR, 'manifest.json'), 'utf8'));
    assert.ok(validateManifest(structuredClone(m)).ok);
    const bad = structuredClone(m);
    bad.models[1].name = bad.models[0].name.toUpperCase();
    bad.models[2].index = 0;
    bad.placement.anchors['not-a-model'] = 3;
    const r = validateManifest(bad);
    assert.ok(!r.ok);
    assert.ok(r.errors.some((e) => /duplicate name/.test(e)) && r.errors.some((e) => /duplicate index/.test(e)) && r.errors.some((e) => /"not-a-model" is not in models/.test(e)), r.errors.join('\n'));
  });

  it('reads opset, IR version, metadata and I/O of the builtin and of a built model', () => {
    const b = readOnnx(readFileSync(join(BUILTIN_ROUTER_DIR, 'router.onnx')));
    assert.equal(b.opsets.get(''), 17);
    assert.equal(b.irVersion, 8);
    assert.equal(b.metadata.get('triage.version'), '0.1.0');
    assert.deepEqual(b.inputs.map((i) => i.name), ['input_ids', 'attention_mask', 'strong_weights', 'weak_weights']);
    const t = readOnnx(tinyRouter({ K: 3, opset: 16 }));
    assert.equal(t.opsets.get(''), 16);
    assert.deepEqual(t.inputs[2]!.dims, ['batch', 3]);
    assert.ok(t.ops.has('Sigmoid'));
  });
});
