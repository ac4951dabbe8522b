// The classifier on the request path: the builtin ONNX router scores each prompt in its worker, the
// threshold calibrates to a strong share on the pod's own traffic, RouteLLM-style overrides, and the
// documented onRouterError path when the classifier cannot score.

import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { metricsText, startStack, type Stack } from '../helpers/stack.ts';

const classifier = (name: string, router: Record<string, unknown>, models?: object[]) => ({
  name,
  models: models ?? [
    { name: 'strong', deployments: [{ providerKey: 'openai', model: 'gpt-4-1106-preview' }] },
    { name: 'weak', deployments: [{ providerKey: 'openai2', model: 'mixtral-8x7b-instruct-v0.1' }] },
  ],
  router: { strong: 'strong', weak: 'weak', ...router },
});

let s: Stack;
before(async () => {
  s = await startStack({
    policies: [
      classifier('default', { strongFraction: 0.5 }), // type defaults to classifier
      classifier('broken', { type: 'classifier', threshold: 0.5, model: '/nonexistent/router' }),
      classifier('unplaced', { type: 'classifier', threshold: 0.5 }, [
        { name: 'strong', deployments: [{ providerKey: 'openai', model: 'my-unrated-model' }] },
        { name: 'weak', deployments: [{ providerKey: 'openai2', model: 'mixtral-8x7b-instruct-v0.1' }] },
      ]),
      // Ratings are per provider model id, shared by every policy using the same router.
      classifier('rated', { type: 'classifier', threshold: 0.5 }, [
        { name: 'strong', rating: 60, deployments: [{ providerKey: 'openai', model: 'my-private-model' }] },
        { name: 'weak', deployments: [{ providerKey: 'openai2', model: 'mixtral-8x7b-instruct-v0.1' }] },
      ]),
      { name: 'pinned', models: [{ name: 'only', deployments: [{ providerKey: 'openai', model: 'gpt-4o' }] }], router: { type: 'fixed', target: 'only' } },
    ],
  });
  // Readiness waits for the classifier to load (and for the broken one to fail).
  for (let i = 0; i < 200 && !(await fetch(`${s.sidecar.adminURL}/readyz`)).ok; i++) await new Promise((r) => setTimeout(r, 50));
});
after(async () => { await s.close(); });

const ask = (model: string, content: string, headers: Record<string, string> = {}) =>
  s.openai.chat.completions.create({ model, messages: [{ role: 'user', content }] }, { headers }).withResponse();

const PROMPTS = [
  'hi', 'thanks!', 'What is 2+2?', 'Name a colour.',
  'Prove that there are infinitely many primes, then generalise the argument to primes of the form 4k+3, with full rigour.',
  'Write a Python function that parses RFC 3339 timestamps with time zones, handles leap seconds, and include unit tests for edge cases.',
  'Explain the difference between eventual consistency and linearizability, with examples from distributed databases and the CAP theorem.',
  'Summarise the plot of Hamlet in one sentence.',
];

describe('classifier routing', () => {
  test('each decision is visible: score, threshold, version, and the route follows score >= threshold', async () => {
    for (const p of PROMPTS) {
      const { response, data } = await ask('default', p);
      const score = Number(response.headers.get('x-triage-score'));
      const threshold = Number(response.headers.get('x-triage-threshold'));
      assert.ok(score > 0 && score < 1, `score ${score}`);
      assert.equal(response.headers.get('x-triage-router-version'), '0.1.0');
      const route = response.headers.get('x-triage-route');
      assert.equal(route, score >= threshold ? 'strong' : 'weak');
      assert.equal(data.model, route === 'strong' ? 'gpt-4-1106-preview' : 'mixtral-8x7b-instruct-v0.1');
    }
    const m = await metricsText(s);
    assert.match(m, /triage_router_score_count\{policy="default"\} \d+/);
    assert.match(m, /triage_router_classify_duration_seconds_count\{policy="default"\} \d+/);
  });

  test('the same prompt gets the same score as the command line (one code path)', async () => {
    const { response } = await ask('default', 'What is 2+2?');
    const { runRouterCommand } = await import('../../cli/router.ts');
    let out = '';
    const sink = (into: (t: string) => void) => new Writable({ write(c, _e, cb) { into(String(c)); cb(); } });
    const code = await runRouterCommand(['score', '--strong', 'gpt-4-1106-preview', '--weak', 'mixtral-8x7b-instruct-v0.1'], {
      stdin: Readable.from(['{"prompt": "What is 2+2?"}\n']),
      stdout: sink((t) => { out += t; }),
      stderr: sink(() => {}),
    });
    assert.equal(code, 0);
    assert.equal(Number(response.headers.get('x-triage-score')).toFixed(6), (JSON.parse(out) as { score: number }).score.toFixed(6));
  });

  test('strongFraction holds on the pod\'s own traffic', async () => {
    let strong = 0;
    const n = 400;
    for (let i = 0; i < n; i++) {
      const p = PROMPTS[i % PROMPTS.length]!.repeat(1 + (i % 5)) + ` #${i}`;
      const { response } = await ask('default', p);
      if (response.headers.get('x-triage-route') === 'strong') strong++;
    }
    // The last 200 requests run on a threshold calibrated to this traffic; the whole run stays near 0.5.
    assert.ok(strong / n > 0.35 && strong / n < 0.65, `strong share ${strong / n}`);
  });

  test('RouteLLM-style overrides: router-<type>-<threshold> and the x-triage-router header', async () => {
    const always = await ask('router-classifier-0', 'hi');
    assert.equal(always.response.headers.get('x-triage-route'), 'strong');
    assert.equal(always.response.headers.get('x-triage-threshold'), '0.000000');
    const never = await ask('router-mf-1', 'Prove the Riemann hypothesis.');
    assert.equal(never.response.headers.get('x-triage-route'), 'weak');
    const byHeader = await ask('default', 'hi', { 'x-triage-router': 'classifier-0' });
    assert.equal(byHeader.response.headers.get('x-triage-route'), 'strong');
    await assert.rejects(ask('pinned', 'hi', { 'x-triage-router': 'classifier-0.5' }), (e: any) => e.status === 400 && /fixed router/.test(e.message));
  });

  test('a classifier that cannot load: the pod stays up and routes by onRouterError (strong), counted', async () => {
    const { response } = await ask('broken', 'hi');
    assert.equal(response.headers.get('x-triage-route'), 'strong');
    assert.match(response.headers.get('x-triage-router-error') ?? '', /not loaded/);
    assert.match(await metricsText(s), /triage_router_errors_total\{policy="broken",kind="unavailable"\} 1/);
    assert.equal((await fetch(`${s.sidecar.adminURL}/readyz`)).status, 200);
  });

  test('a model the classifier cannot place routes by onRouterError; a rating on the target places it', async () => {
    const unplaced = await ask('unplaced', 'hi');
    assert.equal(unplaced.response.headers.get('x-triage-route'), 'strong');
    assert.match(unplaced.response.headers.get('x-triage-router-error') ?? '', /my-unrated-model/);
    const rated = await ask('rated', 'hi');
    assert.equal(rated.response.headers.get('x-triage-router-error'), null);
    assert.ok(Number(rated.response.headers.get('x-triage-score')) > 0);
  });
});
