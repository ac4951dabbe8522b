// Fault paths: retries, Retry-After, fallbacks per error class, timeouts, resets, malformed streams,
// cooldown entry and exit, load balancing, and client aborts — each driven by a mock scenario.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { eventually, metricsText, startStack, type Stack } from '../helpers/stack.ts';

const policy = (over: Record<string, unknown> = {}) => ({
  name: 'default',
  models: [
    { name: 'strong', deployments: [{ providerKey: 'openai', model: 'gpt-4o' }] },
    { name: 'weak', deployments: [{ providerKey: 'claude', model: 'claude-3-5-haiku-latest' }] },
    { name: 'pair', loadBalancing: 'weighted', deployments: [{ providerKey: 'openai', model: 'gpt-4o-mini', weight: 3 }, { providerKey: 'openai2', model: 'gpt-4o-mini', weight: 1 }] },
    { name: 'busy', loadBalancing: 'leastBusy', deployments: [{ providerKey: 'openai', model: 'm-busy' }, { providerKey: 'openai2', model: 'm-busy' }] },
    { name: 'down', deployments: [{ providerKey: 'dead', model: 'gpt-4o' }] },
    { name: 'fast', loadBalancing: 'lowestLatency', deployments: [{ providerKey: 'openai', model: 'm-fast' }, { providerKey: 'openai2', model: 'm-fast' }] },
  ],
  router: { type: 'fixed', target: 'strong' },
  fallbacks: [
    { from: 'strong', to: ['weak'], when: ['rateLimited', 'serverError', 'timeout', 'connection'] },
    { from: 'weak', to: ['strong'], when: ['contextWindowExceeded'] },
    { from: 'down', to: ['strong'], when: ['connection'] },
  ],
  retries: { attempts: 1, baseDelay: '10ms', maxDelay: '2s' },
  timeouts: { connect: '500ms', firstByte: '400ms', idle: '300ms' },
  cooldown: { duration: '400ms', failureRate: 0.5, window: '10s', minRequests: 4 },
  ...over,
});

let s: Stack;
before(async () => { s = await startStack({ policies: [policy()] }); });
after(async () => { await s.close(); });
// Health (cooldowns, failure windows) is process state; each test starts from a clean slate.
beforeEach(() => { s.resetMocks(); s.sidecar.health.retain(new Set()); });

const ask = (model = 'strong') => s.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
const header = (r: { response: Response }, name: string) => r.response.headers.get(name);

/** A metric sample's value, or 0 when absent. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await metricsText(s);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').at(-1));
  }
  return 0;
}

describe('retries and Retry-After', () => {
  test('a 500 is retried on the same deployment and succeeds', async () => {
    s.mocks.openai.enqueue({ kind: 'error', status: 500 });
    const r = await ask();
    assert.equal(r.data.choices[0]!.message.content, 'echo: hi');
    assert.equal(header(r, 'x-triage-attempts'), '2');
    assert.equal(header(r, 'x-triage-model'), 'strong');
    assert.equal(s.mocks.openai.requests.length, 2);
  });

  test('a 429 with Retry-After: 1 waits about a second, then retries the same model', async () => {
    s.mocks.openai.enqueue({ kind: 'error', status: 429, retryAfter: 1 });
    const t0 = Date.now();
    const r = await ask();
    const took = Date.now() - t0;
    assert.equal(header(r, 'x-triage-model'), 'strong');
    assert.equal(header(r, 'x-triage-attempts'), '2');
    assert.ok(took >= 950 && took < 1800, `took ${took} ms`);
    assert.ok(await metric('triage_deployment_cooldowns_total', { provider_key: 'openai', class: 'rateLimited' }) >= 1);
    // the overhead header excludes the wait
    assert.ok(Number(header(r, 'x-triage-overhead-ms')) < 100);
  });

  test('a Retry-After above maxDelay skips straight to the fallback', async () => {
    s.mocks.openai.enqueue({ kind: 'error', status: 429, retryAfter: 30 });
    const before = await metric('triage_fallbacks_total', { from: 'strong', to: 'weak', class: 'rateLimited' });
    const t0 = Date.now();
    const r = await ask();
    assert.ok(Date.now() - t0 < 500);
    assert.equal(header(r, 'x-triage-model'), 'weak');
    assert.equal(header(r, 'x-triage-fallback-from'), 'strong');
    assert.equal(r.data.model, 'claude-3-5-haiku-latest');
    assert.equal(await metric('triage_fallbacks_total', { from: 'strong', to: 'weak', class: 'rateLimited' }), before + 1);
    // the deployment is cooling for 30 s now: the next request falls back without calling it
    const r2 = await ask();
    assert.equal(header(r2, 'x-triage-model'), 'weak');
    assert.equal(s.mocks.openai.requests.length, 1);
  });
});

describe('fallbacks per error class', () => {
  test('persistent 500s exhaust retries, then the fallback answers', async () => {
    s.mocks.openai.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 503 });
    const r = await ask();
    assert.equal(header(r, 'x-triage-model'), 'weak');
    assert.equal(header(r, 'x-triage-attempts'), '3');
    assert.ok(await metric('triage_retries_total', { model: 'strong', class: 'serverError' }) >= 1);
  });

  test('a first-byte timeout is classified timeout and falls back', async () => {
    s.mocks.openai.enqueue({ kind: 'hang' }, { kind: 'hang' });
    const r = await ask();
    assert.equal(header(r, 'x-triage-model'), 'weak');
    assert.ok(await metric('triage_upstream_errors_total', { provider_key: 'openai', class: 'timeout' }) >= 2);
  });

  test('a connection reset before any byte is retried', async () => {
    s.mocks.openai.enqueue({ kind: 'reset' });
    const r = await ask();
    assert.equal(header(r, 'x-triage-model'), 'strong');
    assert.equal(header(r, 'x-triage-attempts'), '2');
  });

  test('a refused connection is classified connection, retried, then falls back', async () => {
    const r = await ask('down');
    assert.equal(header(r, 'x-triage-model'), 'strong');
    assert.equal(header(r, 'x-triage-attempts'), '3');
    assert.ok(await metric('triage_upstream_errors_total', { provider_key: 'dead', class: 'connection' }) >= 2);
  });

  test('context window exceeded is not retried and takes its own fallback', async () => {
    s.mocks.anthropic.enqueue({ kind: 'contextWindow' });
    const r = await ask('weak');
    assert.equal(header(r, 'x-triage-model'), 'strong');
    assert.equal(header(r, 'x-triage-attempts'), '2');
    assert.equal(s.mocks.anthropic.requests.length, 1);
  });

  test('a class with no fallback rule answers an OpenAI-shaped error with the provider status', async () => {
    s.mocks.openai.enqueue({ kind: 'contextWindow' });
    await assert.rejects(ask(), (e: any) => e.status === 400 && e.code === 'context_length_exceeded' && /gpt-4o/.test(e.message));
  });

  test('when the fallback fails too, the client gets the last error', async () => {
    s.mocks.openai.enqueue({ kind: 'error', status: 500 }, { kind: 'error', status: 500 });
    s.mocks.anthropic.enqueue({ kind: 'error', status: 529 }, { kind: 'error', status: 529 });
    await assert.rejects(ask(), (e: any) => e.status === 502 && e.error?.type === 'api_error');
  });
});

describe('streams', () => {
  const stream = (model = 'strong') => s.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'one two three' }], stream: true });

  test('a reset before the first event is retried invisibly', async () => {
    s.mocks.openai.enqueue({ kind: 'reset', afterChunks: 0 });
    let text = '';
    for await (const c of await stream()) text += c.choices[0]?.delta.content ?? '';
    assert.equal(text, 'echo: one two three');
    assert.equal(s.mocks.openai.requests.length, 2);
  });

  test('malformed SSE before any content falls back; after content it ends with an error event', async () => {
    s.mocks.openai.enqueue({ kind: 'malformed', afterChunks: 0 }, { kind: 'malformed', afterChunks: 0 });
    let text = '';
    for await (const c of await stream()) text += c.choices[0]?.delta.content ?? '';
    assert.equal(text, 'echo: one two three');
    assert.equal(s.mocks.anthropic.requests.length, 1);

    s.mocks.openai.enqueue({ kind: 'malformed', afterChunks: 2 });
    const seen: string[] = [];
    await assert.rejects((async () => { for await (const c of await stream()) seen.push(c.choices[0]?.delta.content ?? ''); })(), /malformed/);
    assert.ok(seen.length >= 1, 'content arrived before the error');
  });

  test('a reset mid-stream ends the stream with an error the SDK raises', async () => {
    s.mocks.anthropic.enqueue({ kind: 'reset', afterChunks: 3 });
    await assert.rejects((async () => { for await (const _ of await stream('weak')) { /* drain */ } })(), /interrupted|ended|terminated|socket/i);
    assert.ok(await metric('triage_requests_total', { model: 'weak', status: '502' }) >= 1);
  });

  test('a stream that goes idle is cut at the idle timeout with an error event', async () => {
    s.mocks.openai.enqueue({ kind: 'hang', afterChunks: 2 });
    const t0 = Date.now();
    await assert.rejects((async () => { for await (const _ of await stream()) { /* drain */ } })(), /timeout|interrupted/i);
    assert.ok(Date.now() - t0 < 2000);
  });
});

describe('cooldown and load balancing', () => {
  test('a 429 puts one deployment in cooldown; traffic moves to the other and returns after it', async () => {
    s.mocks.openai.enqueue({ kind: 'error', status: 429 });
    const first = await ask('pair');
    assert.equal(header(first, 'x-triage-attempts'), first.response.headers.get('x-triage-attempts'));
    // Whichever deployment got the 429 is now cooling; find it via the metric gauge.
    const cooling = await metric('triage_deployment_cooldown', { provider_key: 'openai', model: 'gpt-4o-mini' });
    if (s.mocks.openai.requests.length === 1) assert.equal(cooling, 1);
    const countBefore = s.mocks.openai.requests.length;
    for (let i = 0; i < 10; i++) await ask('pair');
    if (cooling === 1) assert.equal(s.mocks.openai.requests.length, countBefore, 'no traffic to a cooling deployment');
    await new Promise((r) => setTimeout(r, 450));
    assert.equal(await metric('triage_deployment_cooldown', { provider_key: 'openai', model: 'gpt-4o-mini' }), 0);
    for (let i = 0; i < 20; i++) await ask('pair');
    assert.ok(s.mocks.openai.requests.length > countBefore, 'traffic returned after cooldown');
  });

  test('a failure rate over the window starts a cooldown; client errors do not count', async () => {
    for (let i = 0; i < 6; i++) s.mocks.openai.enqueue({ kind: 'error', status: 400, message: 'bad thing' });
    for (let i = 0; i < 6; i++) await ask().catch(() => undefined);
    assert.equal(await metric('triage_deployment_cooldown', { provider_key: 'openai', model: 'gpt-4o' }), 0);
    for (let i = 0; i < 4; i++) s.mocks.openai.enqueue({ kind: 'error', status: 500 });
    for (let i = 0; i < 2; i++) assert.equal(header(await ask(), 'x-triage-model'), 'weak');
    assert.equal(await metric('triage_deployment_cooldown', { provider_key: 'openai', model: 'gpt-4o' }), 1);
    assert.ok(await metric('triage_deployment_cooldowns_total', { provider_key: 'openai', model: 'gpt-4o', class: 'serverError' }) >= 1);
    const calls = s.mocks.openai.requests.length;
    assert.equal(header(await ask(), 'x-triage-model'), 'weak');
    assert.equal(s.mocks.openai.requests.length, calls, 'a cooling deployment is not called');
  });

  test('weighted balancing follows the weights', async () => {
    await new Promise((r) => setTimeout(r, 450)); // let earlier cooldowns lapse
    s.resetMocks();
    for (let i = 0; i < 200; i++) await ask('pair');
    const a = s.mocks.openai.requests.length;
    const b = s.mocks.openai2.requests.length;
    assert.equal(a + b, 200);
    assert.ok(a / 200 > 0.62 && a / 200 < 0.88, `share ${a / 200} for weight 3:1`);
  });

  test('lowest-latency balancing prefers the faster deployment', async () => {
    s.mocks.openai.setDefault({ kind: 'ok', delayMs: 60 });
    for (let i = 0; i < 30; i++) await ask('fast');
    s.mocks.openai.setDefault({ kind: 'ok' });
    assert.ok(s.mocks.openai2.requests.length >= 25, `fast got ${s.mocks.openai2.requests.length}/30`);
  });

  test('least-busy balancing spreads concurrent requests', async () => {
    s.mocks.openai.setDefault({ kind: 'ok', delayMs: 150 });
    s.mocks.openai2.setDefault({ kind: 'ok', delayMs: 150 });
    await Promise.all(Array.from({ length: 10 }, () => ask('busy')));
    s.mocks.openai.setDefault({ kind: 'ok' });
    s.mocks.openai2.setDefault({ kind: 'ok' });
    assert.equal(s.mocks.openai.requests.length, 5);
    assert.equal(s.mocks.openai2.requests.length, 5);
  });
});

describe('client aborts', () => {
  test('aborting a stream aborts the upstream request', async () => {
    s.mocks.anthropic.enqueue({ kind: 'ok', text: 'a b c d e f g h i j', chunks: 10, chunkDelayMs: 100 });
    const before = await metric('triage_client_aborts_total', {});
    const ac = new AbortController();
    const st = await s.openai.chat.completions.create({ model: 'weak', messages: [{ role: 'user', content: 'x' }], stream: true }, { signal: ac.signal });
    await (async () => { for await (const _ of st) ac.abort(); })().catch(() => undefined);
    await eventually(() => s.mocks.anthropic.inFlight() === 0);
    await eventually(async () => (await metricsText(s)).includes('triage_client_aborts_total ' + String(before + 1)));
  });

  test('aborting a non-streamed request aborts the upstream request', async () => {
    s.mocks.openai.enqueue({ kind: 'ok', delayMs: 300 });
    const ac = new AbortController();
    const p = s.openai.chat.completions.create({ model: 'strong', messages: [{ role: 'user', content: 'x' }] }, { signal: ac.signal });
    await eventually(() => s.mocks.openai.inFlight() === 1);
    ac.abort();
    await assert.rejects(p);
    await eventually(() => s.mocks.openai.inFlight() === 0);
  });
});
