// cli/router.ts: runRouterCommand with injected stdin/stdout (the `triage router` dispatch line in cli/main.ts
// is the owner's).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { runRouterCommand } from '../../../cli/router.ts';
import { BUILTIN_ROUTER_DIR } from '../../../sidecar/router/runtime.ts';
import { golden, tokenizerJson } from './helpers.ts';
import { writeTinyRouter } from './onnxBuild.ts';

const tmp = mkdtempSync(join(tmpdir(), 'triage-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function run(argv: string[], input = ''): Promise<{ code: number; out: string; err: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d) => { out += d; });
  stderr.on('data', (d) => { err += d; });
  const code = await runRouterCommand(argv, { stdin: Readable.from([input]), stdout, stderr });
  return { code, out, err };
}

describe('triage router score', () => {
  it('JSONL prompts in → JSONL scores out, in order, equal to the golden scores', async () => {
    const cases = golden.cases.slice(0, 8);
    const { code, out } = await run(['score'], cases.map((c) => JSON.stringify({ prompt: c.prompt })).join('\n') + '\n');
    assert.equal(code, 0);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { score: number });
    assert.equal(lines.length, cases.length);
    lines.forEach((l, i) => assert.ok(Math.abs(l.score - cases[i]!.score) <= 1e-6));
  });

  it('--strong/--weak pick the pair (placed by rating); bad lines give {error} in place and exit 1', async () => {
    const { code, out, err } = await run(['score', '--strong', golden.strong, '--weak', golden.placed_weak.model], `{"prompt": ${JSON.stringify(golden.cases[0]!.prompt)}}\nnot json\n{"nope": 1}\n\n{"prompt": "hi"}\n`);
    assert.equal(code, 1);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 4);
    assert.ok(Math.abs(lines[0].score - golden.cases[0]!.score_vs_placed_weak) <= 1e-6);
    assert.match(lines[1].error, /line 2/);
    assert.match(lines[2].error, /no "prompt"/);
    assert.ok(typeof lines[3].score === 'number');
    assert.match(err, /2 line\(s\) could not be scored/);
  });

  it('an unplaceable model is a usage error naming it', async () => {
    const { code, err } = await run(['score', '--strong', 'gpt-4o', '--weak', golden.weak], '{"prompt":"x"}\n');
    assert.equal(code, 1);
    assert.match(err, /"gpt-4o"/);
  });

  it('scores 1,000 prompts in well under a minute', async () => {
    const words = 'route the prompt to a strong or a weak model depending on how hard it looks'.split(' ');
    const input = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ prompt: Array.from({ length: 5 + (i % 200) }, (_, j) => words[(i + j) % words.length]).join(' ') })).join('\n');
    const t0 = performance.now();
    const { code, out } = await run(['score'], input);
    const ms = performance.now() - t0;
    assert.equal(code, 0);
    assert.equal(out.trim().split('\n').length, 1000);
    assert.ok(ms < 20_000, `${ms} ms`);
  });
});

describe('triage router calibrate / eval / check', () => {
  it('calibrate: the reference quantile for the default pair, the mixture for a placed pair, the data quantile with --data', async () => {
    const a = await run(['calibrate', '--strong-fraction', '0.3']);
    assert.equal(a.code, 0);
    assert.equal(Number(a.out.trim()), 0.584177); // reference_scores.json default_pair, level 0.70
    const b = await run(['calibrate', '--strong-fraction', '0.3', '--strong', 'gpt-4o-2024-05-13', '--weak', 'gpt-4o-mini-2024-07-18']);
    assert.equal(b.code, 0);
    assert.match(b.err, /anchor pairs/);
    const file = join(tmp, 'prompts.jsonl');
    writeFileSync(file, golden.cases.map((c) => JSON.stringify({ prompt: c.prompt })).join('\n'));
    const c = await run(['calibrate', '--strong-fraction', '0.5', '--data', file]);
    assert.equal(c.code, 0);
    const sorted = golden.cases.map((x) => Math.fround(x.score)).sort((x, y) => x - y);
    assert.equal(Number(c.out.trim()), sorted[10]); // 21 scores: the median
    assert.equal((await run(['calibrate', '--strong-fraction', '2'])).code, 2);
  });

  it('eval: RouteLLM metrics beside random and oracle, from prompt + per-model quality rows', async () => {
    const file = join(tmp, 'eval.jsonl');
    const rows = golden.cases.map((c, i) => ({ prompt: c.prompt, quality: { [golden.strong]: 1, [golden.weak]: i % 3 === 0 ? 1 : 0 } }));
    rows.push({ prompt: 'no labels for the pair', quality: { other: 1 } } as never);
    writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n'));
    const text = await run(['eval', '--data', file]);
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /APGR \(trapezoid\)/);
    assert.match(text.out, /1 skipped/);
    const j = await run(['eval', '--data', file, '--json']);
    const r = JSON.parse(j.out);
    assert.equal(r.n, golden.cases.length);
    assert.equal(r.router.curve.pgr.length, 11);
    assert.ok(r.oracle.apgr >= r.router.apgr);
    for (const k of ['apgr', 'apgr_10pt', 'cpt50', 'cpt80']) assert.equal(typeof r.router[k], 'number');
  });

  it('check: exit 0 for the builtin, 1 with the errors for a broken router', async () => {
    const ok = await run(['check', BUILTIN_ROUTER_DIR]);
    assert.equal(ok.code, 0);
    assert.match(ok.out, /meets the router contract/);
    const { dir } = writeTinyRouter(join(tmp, 'bad'), tokenizerJson, { opset: 18 });
    const bad = await run(['check', dir, '--json']);
    assert.equal(bad.code, 1);
    const j = JSON.parse(bad.out);
    assert.equal(j.ok, false);
    assert.ok(j.findings.some((f: { level: string; message: string }) => f.level === 'error' && /opset 18/.test(f.message)));
  });

  it('usage errors exit 2', async () => {
    assert.equal((await run([])).code, 2);
    assert.equal((await run(['nope'])).code, 2);
    assert.equal((await run(['check'])).code, 2);
    assert.equal((await run(['eval'])).code, 2);
    assert.equal((await run(['--help'])).code, 0);
  });
});
