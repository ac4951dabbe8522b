// Bad input gets a clear, OpenAI-shaped error; provider keys never leak into answers, logs or metrics;
// the admin listener serves only metrics and probes.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { KEYS, metricsText, startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
before(async () => { s = await startStack({ maxBodyBytes: 64 * 1024 }); });
after(async () => { await s.close(); });

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${s.sidecar.proxyURL}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });

async function expectError(res: Response, status: number, type: string, pattern: RegExp): Promise<any> {
  assert.equal(res.status, status);
  const body = await res.json() as any;
  assert.equal(body.error.type, type);
  assert.match(body.error.message, pattern);
  return body;
}

describe('invalid requests', () => {
  test('malformed JSON → 400', async () => {
    await expectError(await post('/v1/chat/completions', '{"model": "auto", '), 400, 'invalid_request_error', /not valid JSON/);
    await expectError(await post('/v1/chat/completions', ''), 400, 'invalid_request_error', /empty/);
    await expectError(await post('/v1/chat/completions', '[1,2]'), 400, 'invalid_request_error', /JSON object/);
  });

  test('a body over the limit → 413, before the upstream is called', async () => {
    const big = JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'x'.repeat(70 * 1024) }] });
    await expectError(await post('/v1/chat/completions', big), 413, 'invalid_request_error', /exceeds the sidecar's limit of 65536 bytes/);
    assert.equal(s.mocks.openai.requests.length, 0);
  });

  test('an unknown model → 404 model_not_found listing what exists', async () => {
    await assert.rejects(
      s.openai.chat.completions.create({ model: 'gpt-5-ultra', messages: [{ role: 'user', content: 'x' }] }),
      (e: any) => e.status === 404 && e.code === 'model_not_found' && /auto, default, strong/.test(e.message),
    );
  });

  test('wrong field types → 400 naming the field', async () => {
    const cases: [object, RegExp][] = [
      [{ model: 'auto', messages: [{ role: 'robot', content: 'x' }] }, /messages\[0\]\.role: must be one of/],
      [{ model: 'auto', messages: [{ role: 'user', content: 'x' }], temperature: 'hot' }, /temperature: has the wrong type/],
      [{ model: 'auto', messages: 'hello' }, /messages: must be array/],
      [{ messages: [{ role: 'user', content: 'x' }] }, /model: required/],
      [{ model: 'auto', messages: [{ role: 'user', content: 'x' }], n: 0 }, /n: has the wrong type|n: must be >= 1/],
    ];
    for (const [body, pattern] of cases) {
      const res = await post('/v1/chat/completions', JSON.stringify(body));
      const err = await expectError(res, 400, 'invalid_request_error', pattern);
      assert.ok(err.error.param, 'param names the field');
    }
  });

  test('Anthropic-shaped errors on /v1/messages', async () => {
    const res = await post('/v1/messages', JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'x' }] }));
    assert.equal(res.status, 400);
    const body = await res.json() as any;
    assert.equal(body.type, 'error');
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /max_tokens: required/);
  });

  test('unknown routes → 404', async () => {
    await expectError(await post('/v1/assistants', '{}'), 404, 'invalid_request_error', /No route/);
  });
});

describe('secrets', () => {
  test('a provider echoing the key in an error does not leak it to the client, the logs or the metrics', async () => {
    s.mocks.openai.enqueue({ kind: 'error', status: 401, message: `Incorrect API key provided: ${KEYS.openai}.` });
    s.mocks.anthropic.enqueue({ kind: 'error', status: 401, message: `invalid x-api-key ${KEYS.anthropic}` });
    const res = await post('/v1/chat/completions', JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'x' }] }));
    const text = await res.text();
    assert.equal(res.status, 502, 'an upstream auth failure is the gateway\'s problem, not the client\'s key');
    assert.match(text, /\[redacted\]/);
    const everything = [text, ...res.headers.values(), s.logs.join('\n'), await metricsText(s)].join('\n');
    for (const key of Object.values(KEYS)) assert.ok(!everything.includes(key), `key ${key.slice(0, 12)}… leaked`);
  });
});

describe('admin listener', () => {
  test('serves metrics and probes only', async () => {
    assert.equal((await fetch(`${s.sidecar.adminURL}/healthz`)).status, 200);
    assert.equal((await fetch(`${s.sidecar.adminURL}/readyz`)).status, 200);
    assert.match(await metricsText(s), /triage_requests_total/);
    assert.equal((await fetch(`${s.sidecar.adminURL}/v1/models`)).status, 404);
    assert.equal((await fetch(`${s.sidecar.adminURL}/v1/chat/completions`, { method: 'POST', body: '{}' })).status, 404);
  });
});
