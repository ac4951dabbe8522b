// Wire-shape tests for the mock providers: raw fetch against each wire (ok, stream, tool calls, every
// error scenario, auth, reset, malformed, hang), then the official SDKs pointed straight at the mocks.

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import OpenAI, { AzureOpenAI } from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import { startMockProvider } from './index.ts';
import type { MockProvider } from './index.ts';
import { splitPieces } from './scenario.ts';

// ---------- helpers ----------

interface SseEvent {
  event: string | undefined;
  data: string;
}

function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    if (block.trim() === '') continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    out.push({ event, data: data.join('\n') });
  }
  return out;
}

/** Reads a body to its end; returns the text so far and the error that ended it, if any. */
async function drain(res: Response): Promise<{ text: string; error: unknown }> {
  const dec = new TextDecoder();
  let text = '';
  try {
    for await (const c of res.body as ReadableStream<Uint8Array>) text += dec.decode(c, { stream: true });
    return { text, error: undefined };
  } catch (e) {
    return { text, error: e };
  }
}

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Starts a request that will hang, checks the mock counts it, aborts it, checks the count drops. */
async function assertHangAndAbort(m: MockProvider, doFetch: (signal: AbortSignal) => Promise<Response>): Promise<void> {
  const t0 = Date.now();
  await assert.rejects(doFetch(AbortSignal.timeout(150)), (e: Error) => e.name === 'TimeoutError');
  assert.ok(Date.now() - t0 >= 140, 'aborted by the timeout, not earlier');
  await waitFor(() => m.inFlight() === 0);
}

const KEY = 'test-key';
const TOOLS_OAI = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
const WEATHER = { name: 'get_weather', arguments: { city: 'Paris', days: 3 } };

// ---------- OpenAI ----------

describe('openai mock: raw wire', () => {
  let m: MockProvider;
  before(async () => {
    m = await startMockProvider({ wire: 'openai' });
  });
  after(() => m.close());
  beforeEach(() => m.reset());

  const chat = (body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> =>
    fetch(m.url + '/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      ...(signal ? { signal } : {}),
    });
  const basic = {
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: [{ type: 'text', text: 'hello there' }, { type: 'text', text: 'world' }] },
    ],
  };

  it('url ends in /v1 and the port is real', () => {
    assert.match(m.url, /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    assert.ok(m.port > 0);
    assert.equal(m.wire, 'openai');
  });

  it('answers a chat completion with the echo text and word-count usage', async () => {
    const r = await chat(basic);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    const b: any = await r.json();
    assert.match(b.id, /^chatcmpl-/);
    assert.equal(b.object, 'chat.completion');
    assert.equal(b.model, 'gpt-4o-mini');
    assert.equal(typeof b.created, 'number');
    assert.equal(b.choices.length, 1);
    assert.deepEqual(b.choices[0].message.role, 'assistant');
    assert.equal(b.choices[0].message.content, 'echo: hello there world');
    assert.equal(b.choices[0].finish_reason, 'stop');
    // input: "be brief" (2) + "hello there" "world" (3) = 5; output: "echo: hello there world" = 4
    assert.equal(b.usage.prompt_tokens, 5);
    assert.equal(b.usage.completion_tokens, 4);
    assert.equal(b.usage.total_tokens, 9);
    assert.equal(b.usage.prompt_tokens_details.cached_tokens, 0);
  });

  it('truncates the echoed text to 200 characters and honours scenario text, model, usage and finish', async () => {
    const long = 'x'.repeat(300);
    const r1: any = await (await chat({ model: 'm', messages: [{ role: 'user', content: long }] })).json();
    assert.equal(r1.choices[0].message.content, 'echo: ' + 'x'.repeat(200));
    m.enqueue({ kind: 'ok', text: 'custom', model: 'gpt-4o-2024-08-06', usage: { input: 100, output: 7, cached: 40 }, finish: 'length' });
    const r2: any = await (await chat(basic)).json();
    assert.equal(r2.choices[0].message.content, 'custom');
    assert.equal(r2.model, 'gpt-4o-2024-08-06');
    assert.equal(r2.choices[0].finish_reason, 'length');
    assert.deepEqual([r2.usage.prompt_tokens, r2.usage.completion_tokens, r2.usage.prompt_tokens_details.cached_tokens], [100, 7, 40]);
  });

  it('streams role, content, finish, usage-only and [DONE] chunks when include_usage is set', async () => {
    m.enqueue({ kind: 'ok', chunks: 5 });
    const r = await chat({ ...basic, stream: true, stream_options: { include_usage: true } });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const evs = parseSse(await r.text());
    assert.equal(evs.at(-1)?.data, '[DONE]');
    const chunks = evs.slice(0, -1).map((e) => JSON.parse(e.data));
    for (const c of chunks) {
      assert.equal(c.object, 'chat.completion.chunk');
      assert.equal(c.model, 'gpt-4o-mini');
      assert.ok('usage' in c);
    }
    assert.equal(new Set(chunks.map((c: any) => c.id)).size, 1, 'one id across the stream');
    assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
    const content = chunks.filter((c: any) => c.choices[0]?.delta?.content).map((c: any) => c.choices[0].delta.content);
    assert.equal(content.length, 5);
    assert.equal(content.join(''), 'echo: hello there world');
    const fin = chunks.at(-2);
    assert.equal(fin.choices[0].finish_reason, 'stop');
    assert.deepEqual(fin.choices[0].delta, {});
    for (const c of chunks.slice(0, -1)) assert.equal(c.usage, null);
    const last = chunks.at(-1);
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage.prompt_tokens, 5);
    assert.equal(last.usage.completion_tokens, 4);
  });

  it('streams without any usage field when include_usage is not set', async () => {
    const evs = parseSse(await (await chat({ ...basic, stream: true })).text());
    assert.equal(evs.at(-1)?.data, '[DONE]');
    for (const e of evs.slice(0, -1)) {
      const c = JSON.parse(e.data);
      assert.ok(!('usage' in c));
      assert.equal(c.choices.length, 1);
    }
  });

  it('answers with tool calls only when the request has tools', async () => {
    m.enqueue({ kind: 'ok', toolCalls: [WEATHER] }, { kind: 'ok', toolCalls: [WEATHER] });
    const withTools: any = await (await chat({ ...basic, tools: TOOLS_OAI })).json();
    const msg = withTools.choices[0].message;
    assert.equal(withTools.choices[0].finish_reason, 'tool_calls');
    assert.equal(msg.content, null);
    assert.equal(msg.tool_calls.length, 1);
    assert.match(msg.tool_calls[0].id, /^call_/);
    assert.equal(msg.tool_calls[0].type, 'function');
    assert.equal(msg.tool_calls[0].function.name, 'get_weather');
    assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), WEATHER.arguments);
    const noTools: any = await (await chat(basic)).json();
    assert.equal(noTools.choices[0].message.content, 'echo: hello there world');
    assert.equal(noTools.choices[0].message.tool_calls, undefined);
  });

  it('streams tool calls as index/id/name then argument fragments', async () => {
    m.enqueue({ kind: 'ok', toolCalls: [WEATHER, { name: 'noop', arguments: {} }] });
    const evs = parseSse(await (await chat({ ...basic, tools: TOOLS_OAI, stream: true })).text());
    const deltas = evs.slice(0, -1).map((e) => JSON.parse(e.data).choices[0]);
    const calls = new Map<number, { id?: string; name?: string; args: string; pieces: number }>();
    for (const d of deltas) {
      for (const tc of d.delta.tool_calls ?? []) {
        const cur = calls.get(tc.index) ?? { args: '', pieces: 0 };
        if (tc.id) {
          cur.id = tc.id;
          assert.equal(tc.type, 'function');
        }
        if (tc.function?.name) cur.name = tc.function.name;
        if (tc.function?.arguments) {
          cur.args += tc.function.arguments;
          cur.pieces++;
        }
        calls.set(tc.index, cur);
      }
    }
    assert.equal(calls.size, 2);
    const c0 = calls.get(0);
    assert.match(c0?.id ?? '', /^call_/);
    assert.equal(c0?.name, 'get_weather');
    assert.deepEqual(JSON.parse(c0?.args ?? ''), WEATHER.arguments);
    assert.ok((c0?.pieces ?? 0) >= 2, 'arguments arrive in fragments');
    assert.equal(calls.get(1)?.name, 'noop');
    assert.equal(deltas.at(-1).finish_reason, 'tool_calls');
  });

  it('maps error scenarios to OpenAI error bodies, statuses and Retry-After', async () => {
    m.enqueue(
      { kind: 'error', status: 429, retryAfter: 7 },
      { kind: 'error', status: 500 },
      { kind: 'error', status: 503, message: 'custom words' },
      { kind: 'contextWindow' },
    );
    const r429 = await chat(basic);
    assert.equal(r429.status, 429);
    assert.equal(r429.headers.get('retry-after'), '7');
    const b429: any = await r429.json();
    assert.equal(b429.error.type, 'requests');
    assert.equal(b429.error.code, 'rate_limit_exceeded');
    assert.equal(typeof b429.error.message, 'string');
    const r500 = await chat(basic);
    assert.equal(r500.status, 500);
    assert.equal(r500.headers.get('retry-after'), null);
    assert.equal(((await r500.json()) as any).error.type, 'server_error');
    const r503 = await chat(basic);
    assert.equal(r503.status, 503);
    assert.equal(((await r503.json()) as any).error.message, 'custom words');
    const rcw = await chat(basic);
    assert.equal(rcw.status, 400);
    const bcw: any = await rcw.json();
    assert.equal(bcw.error.code, 'context_length_exceeded');
    assert.equal(bcw.error.type, 'invalid_request_error');
    assert.equal(bcw.error.param, 'messages');
    assert.match(bcw.error.message, /^This model's maximum context length is \d+ tokens\. However, your messages resulted in \d+ tokens\./);
    // queue drained: back to ok
    assert.equal((await chat(basic)).status, 200);
  });

  it('rejects missing and wrong keys with 401 invalid_api_key without consuming a scenario', async () => {
    m.enqueue({ kind: 'error', status: 418 });
    for (const headers of [{ authorization: '' }, { authorization: 'Bearer nope' }, { authorization: 'Basic x' }]) {
      const r = await chat(basic, headers);
      assert.equal(r.status, 401);
      const b: any = await r.json();
      assert.deepEqual(Object.keys(b.error).sort(), ['code', 'message', 'param', 'type']);
      assert.equal(b.error.code, 'invalid_api_key');
      assert.equal(b.error.type, 'invalid_request_error');
      assert.equal(b.error.param, null);
      assert.ok(!JSON.stringify(b).includes('nope'), 'the wrong key is not echoed');
    }
    assert.equal((await chat(basic)).status, 418, 'the queued scenario is still there');
  });

  it('validates the body like the real API', async () => {
    const noMsgs: any = await (await chat({ model: 'x' })).json();
    assert.equal(noMsgs.error.param, 'messages');
    assert.equal(noMsgs.error.code, 'missing_required_parameter');
    const r1 = await chat({ messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r1.status, 400);
    assert.match(((await r1.json()) as any).error.message, /model/);
    const r2 = await chat({ model: 'x', messages: [] });
    assert.equal(r2.status, 400);
    assert.equal(((await r2.json()) as any).error.code, 'empty_array');
    const r3 = await chat('{"model": ');
    assert.equal(r3.status, 400);
    assert.match(((await r3.json()) as any).error.message, /could not parse the JSON body/);
    assert.equal((await chat({ model: 'x' })).status, 400);
  });

  it('answers unknown paths with 404 in OpenAI shape', async () => {
    const r = await fetch(m.url + '/completions/nope', { method: 'POST', headers: { authorization: `Bearer ${KEY}` } });
    assert.equal(r.status, 404);
    assert.match(((await r.json()) as any).error.message, /Invalid URL/);
  });

  it('records method, path, query, headers and parsed body; reset() clears them', async () => {
    await fetch(m.url + '/chat/completions?trace=1', {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'x-custom': 'yes', 'content-type': 'application/json' },
      body: JSON.stringify(basic),
    });
    await chat('not json');
    assert.equal(m.requests.length, 2);
    const r0 = m.requests[0];
    assert.equal(r0?.method, 'POST');
    assert.equal(r0?.path, '/v1/chat/completions');
    assert.deepEqual(r0?.query, { trace: '1' });
    assert.equal(r0?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(r0?.headers['x-custom'], 'yes');
    assert.deepEqual(r0?.body, basic);
    assert.ok(Math.abs((r0?.at ?? 0) - Date.now()) < 5000);
    assert.equal(m.requests[1]?.body, 'not json');
    m.reset();
    assert.equal(m.requests.length, 0);
  });

  it('consumes scenarios FIFO, falls back to setDefault, and reset() restores ok', async () => {
    m.setDefault({ kind: 'error', status: 502 });
    m.enqueue({ kind: 'ok', text: 'first' }, { kind: 'ok', text: 'second' });
    const a: any = await (await chat(basic)).json();
    const b: any = await (await chat(basic)).json();
    assert.deepEqual([a.choices[0].message.content, b.choices[0].message.content], ['first', 'second']);
    assert.equal((await chat(basic)).status, 502);
    assert.equal((await chat(basic)).status, 502);
    m.enqueue({ kind: 'error', status: 500 });
    m.reset();
    assert.equal((await chat(basic)).status, 200);
  });

  it('delays before headers and between chunks', async () => {
    m.enqueue({ kind: 'ok', delayMs: 120 }, { kind: 'ok', chunkDelayMs: 40, chunks: 3 });
    let t0 = Date.now();
    assert.equal((await chat(basic)).status, 200);
    assert.ok(Date.now() - t0 >= 110, 'delayMs held the answer back');
    t0 = Date.now();
    const r = await chat({ ...basic, stream: true });
    const firstByte = Date.now() - t0;
    const evs = parseSse(await r.text());
    const total = Date.now() - t0;
    // 6 events (role, 3 content, finish, [DONE]) → 5 gaps of 40ms after the headers
    assert.equal(evs.length, 6);
    assert.ok(total - firstByte >= 180, `chunks were spaced out after the headers (${firstByte}ms, ${total}ms)`);
  });

  it('reset before any byte makes fetch fail', async () => {
    m.enqueue({ kind: 'reset' });
    await assert.rejects(chat(basic), TypeError);
    assert.equal((await chat(basic)).status, 200, 'the next request is served');
  });

  it('reset after N stream events delivers exactly N events then cuts the body', async () => {
    m.enqueue({ kind: 'reset', afterChunks: 2 }, { kind: 'reset', afterChunks: 0 });
    const r = await chat({ ...basic, stream: true });
    assert.equal(r.status, 200);
    const { text, error } = await drain(r);
    assert.ok(error, 'the body read fails');
    assert.equal(parseSse(text).length, 2);
    const r0 = await chat({ ...basic, stream: true });
    const d0 = await drain(r0);
    assert.ok(d0.error);
    assert.equal(d0.text, '');
  });

  it('reset on a non-streaming call sends half the promised body', async () => {
    m.enqueue({ kind: 'reset', afterChunks: 0 });
    const r = await chat(basic);
    assert.equal(r.status, 200);
    await assert.rejects(r.json());
  });

  it('malformed emits a non-JSON data line mid-stream, then ends cleanly', async () => {
    m.enqueue({ kind: 'malformed', afterChunks: 2 }, { kind: 'malformed' });
    const { text, error } = await drain(await chat({ ...basic, stream: true }));
    assert.equal(error, undefined);
    const evs = parseSse(text);
    assert.equal(evs.length, 3);
    JSON.parse(evs[0]?.data ?? '');
    JSON.parse(evs[1]?.data ?? '');
    assert.throws(() => JSON.parse(evs[2]?.data ?? ''));
    const nonStream = await chat(basic);
    assert.equal(nonStream.status, 200);
    await assert.rejects(nonStream.json(), SyntaxError);
  });

  it('hang keeps the request open until the client gives up, and inFlight tracks it', async () => {
    m.enqueue({ kind: 'hang' });
    const p = chat(basic, {}, AbortSignal.timeout(150));
    await waitFor(() => m.inFlight() === 1);
    await assert.rejects(p, (e: Error) => e.name === 'TimeoutError');
    await waitFor(() => m.inFlight() === 0);
    m.enqueue({ kind: 'hang' });
    await assertHangAndAbort(m, (signal) => chat(basic, {}, signal));
  });

  it('hang after N events sends headers and N events, then goes silent', async () => {
    m.enqueue({ kind: 'hang', afterChunks: 1 });
    const ac = new AbortController();
    const r = await chat({ ...basic, stream: true }, {}, ac.signal);
    assert.equal(r.status, 200);
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    assert.equal(parseSse(new TextDecoder().decode(first.value)).length, 1);
    const next = await Promise.race([reader.read().then(() => 'data'), new Promise((res) => setTimeout(() => res('silent'), 150))]);
    assert.equal(next, 'silent');
    assert.equal(m.inFlight(), 1);
    ac.abort();
    await waitFor(() => m.inFlight() === 0);
  });

  it('serves deterministic embeddings: float and base64, default 8 dims, dimensions honoured', async () => {
    const emb = (body: unknown): Promise<any> =>
      fetch(m.url + '/embeddings', { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: JSON.stringify(body) }).then((r) => r.json());
    const a = await emb({ model: 'text-embedding-3-small', input: ['alpha beta', 'gamma'] });
    assert.equal(a.object, 'list');
    assert.equal(a.model, 'text-embedding-3-small');
    assert.equal(a.data.length, 2);
    assert.deepEqual(
      a.data.map((d: any) => [d.object, d.index, d.embedding.length]),
      [
        ['embedding', 0, 8],
        ['embedding', 1, 8],
      ],
    );
    assert.deepEqual(a.usage, { prompt_tokens: 3, total_tokens: 3 });
    const norm = Math.hypot(...(a.data[0].embedding as number[]));
    assert.ok(Math.abs(norm - 1) < 1e-5, 'unit vector');
    assert.notDeepEqual(a.data[0].embedding, a.data[1].embedding);
    const again = await emb({ model: 'text-embedding-3-small', input: 'alpha beta' });
    assert.deepEqual(again.data[0].embedding, a.data[0].embedding, 'deterministic');
    const dims = await emb({ model: 'e', input: 'alpha beta', dimensions: 32 });
    assert.equal(dims.data[0].embedding.length, 32);
    const b64 = await emb({ model: 'e', input: 'alpha beta', encoding_format: 'base64' });
    assert.equal(typeof b64.data[0].embedding, 'string');
    const buf = Buffer.from(b64.data[0].embedding, 'base64');
    const floats = Array.from(new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4));
    assert.deepEqual(floats, a.data[0].embedding);
    const bad = await fetch(m.url + '/embeddings', { method: 'POST', headers: { authorization: `Bearer ${KEY}` }, body: JSON.stringify({ model: 'e' }) });
    assert.equal(bad.status, 400);
  });
});

describe('openai mock: Azure paths', () => {
  let m: MockProvider;
  before(async () => {
    m = await startMockProvider({ wire: 'openai', apiKey: 'azure-key' });
  });
  after(() => m.close());
  beforeEach(() => m.reset());
  const base = (): string => `http://127.0.0.1:${m.port}`;
  const az = (path: string, body: unknown, headers: Record<string, string> = { 'api-key': 'azure-key' }): Promise<Response> =>
    fetch(base() + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const msgs = { messages: [{ role: 'user', content: 'hi azure' }] };

  it('answers chat on the deployment path with the deployment as model and filter results', async () => {
    const r = await az('/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21', msgs);
    assert.equal(r.status, 200);
    const b: any = await r.json();
    assert.equal(b.model, 'my-gpt4o');
    assert.equal(b.choices[0].message.content, 'echo: hi azure');
    assert.ok(Array.isArray(b.prompt_filter_results));
    assert.equal(m.requests[0]?.query['api-version'], '2024-10-21');
    assert.equal(m.requests[0]?.headers['api-key'], 'azure-key');
  });

  it('opens Azure streams with an empty-choices prompt-filter chunk', async () => {
    const evs = parseSse(await (await az('/openai/deployments/dep/chat/completions?api-version=2024-10-21', { ...msgs, stream: true })).text());
    const first = JSON.parse(evs[0]?.data ?? '');
    assert.deepEqual(first.choices, []);
    assert.ok(first.prompt_filter_results);
    const text = evs
      .slice(1, -1)
      .map((e) => JSON.parse(e.data).choices[0]?.delta?.content ?? '')
      .join('');
    assert.equal(text, 'echo: hi azure');
    assert.equal(evs.at(-1)?.data, '[DONE]');
  });

  it('404s without api-version and 401s without the api-key, in Azure error shape', async () => {
    const r404 = await az('/openai/deployments/dep/chat/completions', msgs);
    assert.equal(r404.status, 404);
    assert.deepEqual(await r404.json(), { error: { code: '404', message: 'Resource not found' } });
    const r401 = await az('/openai/deployments/dep/chat/completions?api-version=2024-10-21', msgs, { 'api-key': 'wrong' });
    assert.equal(r401.status, 401);
    const b: any = await r401.json();
    assert.equal(b.error.code, '401');
    assert.match(b.error.message, /Access denied/);
  });

  it('serves Azure embeddings', async () => {
    const b: any = await (await az('/openai/deployments/emb/embeddings?api-version=2024-10-21', { input: 'x y' })).json();
    assert.equal(b.model, 'emb');
    assert.equal(b.data[0].embedding.length, 8);
  });
});

describe('openai mock: official openai SDK', () => {
  let m: MockProvider;
  let client: OpenAI;
  before(async () => {
    m = await startMockProvider({ wire: 'openai' });
    client = new OpenAI({ apiKey: KEY, baseURL: m.url, maxRetries: 0 });
  });
  after(() => m.close());
  beforeEach(() => m.reset());

  it('parses a non-streaming completion', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'sdk says hi' }] });
    assert.equal(r.choices[0]?.message.content, 'echo: sdk says hi');
    assert.equal(r.usage?.prompt_tokens, 3);
    assert.equal(m.requests[0]?.headers.authorization, `Bearer ${KEY}`);
  });

  it('parses a stream with usage and tool calls', async () => {
    m.enqueue({ kind: 'ok', text: 'calling', toolCalls: [WEATHER] });
    const stream = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'weather?' }],
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let args = '';
    let name = '';
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const c of stream) {
      const ch = c.choices[0];
      text += ch?.delta.content ?? '';
      for (const tc of ch?.delta.tool_calls ?? []) {
        name += tc.function?.name ?? '';
        args += tc.function?.arguments ?? '';
      }
      if (ch?.finish_reason) finish = ch.finish_reason;
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, 'calling');
    assert.equal(name, 'get_weather');
    assert.deepEqual(JSON.parse(args), WEATHER.arguments);
    assert.equal(finish, 'tool_calls');
    assert.equal(usage?.prompt_tokens, 1);
  });

  it('accumulates a stream with the runner helper', async () => {
    const s = client.chat.completions.stream({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'runner test' }] });
    const final = await s.finalChatCompletion();
    assert.equal(final.choices[0]?.message.content, 'echo: runner test');
  });

  it('decodes default (base64) embeddings to the same floats as the float encoding', async () => {
    const viaSdk = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'same text' });
    assert.equal(m.requests[0]?.body && (m.requests[0].body as any).encoding_format, 'base64');
    const viaFloat = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'same text', encoding_format: 'float' });
    assert.deepEqual(Array.from(viaSdk.data[0]?.embedding ?? []), viaFloat.data[0]?.embedding);
  });

  it('surfaces error scenarios as typed SDK errors', async () => {
    m.enqueue({ kind: 'error', status: 429, retryAfter: 1 }, { kind: 'contextWindow' }, { kind: 'error', status: 500 });
    const req = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'x' }] };
    await assert.rejects(client.chat.completions.create(req), (e: unknown) => e instanceof OpenAI.RateLimitError && e.code === 'rate_limit_exceeded');
    await assert.rejects(client.chat.completions.create(req), (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded');
    await assert.rejects(client.chat.completions.create(req), (e: unknown) => e instanceof OpenAI.InternalServerError);
    const bad = new OpenAI({ apiKey: 'wrong', baseURL: m.url, maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create(req), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
  });

  it('works through the AzureOpenAI client', async () => {
    const az = new AzureOpenAI({ apiKey: KEY, endpoint: `http://127.0.0.1:${m.port}`, apiVersion: '2024-10-21', deployment: 'dep-1', maxRetries: 0 });
    const r = await az.chat.completions.create({ model: 'ignored', messages: [{ role: 'user', content: 'azure sdk' }] });
    assert.equal(r.choices[0]?.message.content, 'echo: azure sdk');
    assert.equal(r.model, 'dep-1');
    const rec = m.requests.at(-1);
    assert.equal(rec?.path, '/openai/deployments/dep-1/chat/completions');
    assert.equal(rec?.headers['api-key'], KEY);
    const stream = await az.chat.completions.create({ model: 'ignored', messages: [{ role: 'user', content: 'azure stream' }], stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    assert.equal(text, 'echo: azure stream');
  });
});

// ---------- Anthropic ----------

describe('anthropic mock: raw wire', () => {
  let m: MockProvider;
  before(async () => {
    m = await startMockProvider({ wire: 'anthropic' });
  });
  after(() => m.close());
  beforeEach(() => m.reset());
  const HEADERS = { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' };
  const msg = (body: unknown, headers: Record<string, string> = HEADERS, signal?: AbortSignal): Promise<Response> =>
    fetch(m.url + '/v1/messages', { method: 'POST', headers, body: JSON.stringify(body), ...(signal ? { signal } : {}) });
  const basic = {
    model: 'claude-sonnet-4-5',
    max_tokens: 100,
    system: 'be brief please',
    messages: [
      { role: 'user', content: 'first question' },
      { role: 'assistant', content: [{ type: 'text', text: 'an answer' }] },
      { role: 'user', content: [{ type: 'text', text: 'second question here' }] },
    ],
  };
  const TOOLS = [{ name: 'get_weather', description: 'w', input_schema: { type: 'object' } }];

  it('url has no /v1 suffix', () => {
    assert.match(m.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers a Message with text, stop_reason and usage', async () => {
    const r = await msg(basic);
    assert.equal(r.status, 200);
    assert.ok(r.headers.get('request-id'));
    const b: any = await r.json();
    assert.match(b.id, /^msg_/);
    assert.equal(b.type, 'message');
    assert.equal(b.role, 'assistant');
    assert.equal(b.model, 'claude-sonnet-4-5');
    assert.deepEqual(b.content, [{ type: 'text', text: 'echo: second question here' }]);
    assert.equal(b.stop_reason, 'end_turn');
    assert.equal(b.stop_sequence, null);
    // 3 (system) + 2 + 2 + 3 = 10 input words; 4 output words
    assert.equal(b.usage.input_tokens, 10);
    assert.equal(b.usage.output_tokens, 4);
    assert.equal(b.usage.cache_read_input_tokens, 0);
  });

  it('reports cached tokens as cache_read_input_tokens and length as max_tokens', async () => {
    m.enqueue({ kind: 'ok', usage: { input: 100, output: 5, cached: 60 }, finish: 'length' });
    const b: any = await (await msg(basic)).json();
    assert.equal(b.usage.cache_read_input_tokens, 60);
    assert.equal(b.usage.input_tokens, 40);
    assert.equal(b.usage.output_tokens, 5);
    assert.equal(b.stop_reason, 'max_tokens');
  });

  it('streams the exact event sequence with matching data types', async () => {
    m.enqueue({ kind: 'ok', chunks: 2 });
    const r = await msg({ ...basic, stream: true });
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const evs = parseSse(await r.text());
    assert.deepEqual(
      evs.map((e) => e.event),
      ['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop'],
    );
    const data = evs.map((e) => JSON.parse(e.data));
    for (let i = 0; i < evs.length; i++) assert.equal(data[i].type, evs[i]?.event);
    assert.equal(data[0].message.usage.input_tokens, 10);
    assert.deepEqual(data[0].message.content, []);
    assert.equal(data[0].message.stop_reason, null);
    assert.deepEqual(data[1].content_block, { type: 'text', text: '' });
    assert.equal(data[3].delta.type, 'text_delta');
    assert.equal(data[3].delta.text + data[4].delta.text, 'echo: second question here');
    assert.equal(data[6].delta.stop_reason, 'end_turn');
    assert.equal(data[6].usage.output_tokens, 4);
  });

  it('answers tool_use blocks (non-stream and stream) only when tools are given', async () => {
    m.enqueue({ kind: 'ok', toolCalls: [WEATHER] }, { kind: 'ok', text: 'let me check', toolCalls: [WEATHER] }, { kind: 'ok', toolCalls: [WEATHER] });
    const b: any = await (await msg({ ...basic, tools: TOOLS })).json();
    assert.equal(b.stop_reason, 'tool_use');
    assert.equal(b.content.length, 1);
    assert.equal(b.content[0].type, 'tool_use');
    assert.match(b.content[0].id, /^toolu_/);
    assert.equal(b.content[0].name, 'get_weather');
    assert.deepEqual(b.content[0].input, WEATHER.arguments);

    const evs = parseSse(await (await msg({ ...basic, tools: TOOLS, stream: true })).text()).map((e) => JSON.parse(e.data));
    const starts = evs.filter((e) => e.type === 'content_block_start');
    assert.deepEqual(
      starts.map((s) => [s.index, s.content_block.type]),
      [
        [0, 'text'],
        [1, 'tool_use'],
      ],
    );
    assert.match(starts[1].content_block.id, /^toolu_/);
    assert.deepEqual(starts[1].content_block.input, {});
    const json = evs.filter((e) => e.type === 'content_block_delta' && e.index === 1);
    assert.ok(json.every((e) => e.delta.type === 'input_json_delta'));
    assert.ok(json.filter((e) => e.delta.partial_json !== '').length >= 2, 'the input arrives in fragments');
    assert.deepEqual(JSON.parse(json.map((e) => e.delta.partial_json).join('')), WEATHER.arguments);
    assert.equal(evs.find((e) => e.type === 'message_delta').delta.stop_reason, 'tool_use');

    const noTools: any = await (await msg(basic)).json();
    assert.equal(noTools.content[0].type, 'text');
    assert.equal(noTools.stop_reason, 'end_turn');
  });

  it('maps error scenarios to Anthropic error bodies', async () => {
    m.enqueue({ kind: 'error', status: 429, retryAfter: 3 }, { kind: 'error', status: 500 }, { kind: 'error', status: 529 }, { kind: 'contextWindow' });
    const cases: [number, string][] = [
      [429, 'rate_limit_error'],
      [500, 'api_error'],
      [529, 'overloaded_error'],
      [400, 'invalid_request_error'],
    ];
    for (const [status, type] of cases) {
      const r = await msg(basic);
      assert.equal(r.status, status);
      const b: any = await r.json();
      assert.equal(b.type, 'error');
      assert.equal(b.error.type, type);
      assert.equal(typeof b.error.message, 'string');
      if (status === 429) assert.equal(r.headers.get('retry-after'), '3');
      if (status === 400) assert.match(b.error.message, /^prompt is too long: \d+ tokens > \d+ maximum$/);
    }
  });

  it('requires x-api-key, anthropic-version, model, max_tokens and user/assistant roles', async () => {
    const noKey = await msg(basic, { 'anthropic-version': '2023-06-01' });
    assert.equal(noKey.status, 401);
    assert.deepEqual(((await noKey.json()) as any).error, { type: 'authentication_error', message: 'x-api-key header is required' });
    const wrong = await msg(basic, { ...HEADERS, 'x-api-key': 'bad' });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as any).error.type, 'authentication_error');
    const bearer = await msg(basic, { authorization: `Bearer ${KEY}`, 'anthropic-version': '2023-06-01' });
    assert.equal(bearer.status, 200);
    const wrongBearer = await msg(basic, { authorization: 'Bearer bad', 'anthropic-version': '2023-06-01' });
    assert.equal(wrongBearer.status, 401);
    assert.equal(((await wrongBearer.json()) as any).error.type, 'authentication_error');
    const noVersion = await msg(basic, { 'x-api-key': KEY });
    assert.equal(noVersion.status, 400);
    assert.match(((await noVersion.json()) as any).error.message, /anthropic-version/);
    const { max_tokens: _drop, ...noMax } = basic;
    const r1 = await msg(noMax);
    assert.equal(r1.status, 400);
    assert.match(((await r1.json()) as any).error.message, /max_tokens/);
    const r2 = await msg({ ...basic, messages: [{ role: 'system', content: 'x' }, ...basic.messages] });
    assert.equal(r2.status, 400);
    assert.match(((await r2.json()) as any).error.message, /top-level `system`/);
    const r3 = await msg({ ...basic, model: undefined });
    assert.equal(r3.status, 400);
    assert.equal(m.requests.length, 8, 'every request is recorded, rejected ones too');
    assert.equal(m.requests[1]?.headers['x-api-key'], 'bad');
  });

  it('reset, malformed and hang', async () => {
    m.enqueue({ kind: 'reset' }, { kind: 'reset', afterChunks: 3 }, { kind: 'malformed', afterChunks: 1 }, { kind: 'hang' });
    await assert.rejects(msg(basic), TypeError);
    const cut = await drain(await msg({ ...basic, stream: true }));
    assert.ok(cut.error);
    assert.deepEqual(
      parseSse(cut.text).map((e) => e.event),
      ['message_start', 'content_block_start', 'ping'],
    );
    const bad = await drain(await msg({ ...basic, stream: true }));
    assert.equal(bad.error, undefined);
    const evs = parseSse(bad.text);
    assert.equal(evs.length, 2);
    assert.equal(evs[0]?.event, 'message_start');
    assert.throws(() => JSON.parse(evs[1]?.data ?? ''));
    await assertHangAndAbort(m, (signal) => msg(basic, HEADERS, signal));
  });
});

describe('anthropic mock: official @anthropic-ai/sdk', () => {
  let m: MockProvider;
  let client: Anthropic;
  before(async () => {
    m = await startMockProvider({ wire: 'anthropic' });
    client = new Anthropic({ apiKey: KEY, baseURL: m.url, maxRetries: 0 });
  });
  after(() => m.close());
  beforeEach(() => m.reset());

  it('parses a non-streaming message and sends the right headers', async () => {
    const r = await client.messages.create({ model: 'claude-haiku-4-5', max_tokens: 50, messages: [{ role: 'user', content: 'sdk hello' }] });
    const block = r.content[0];
    assert.equal(block?.type, 'text');
    assert.equal(block?.type === 'text' ? block.text : '', 'echo: sdk hello');
    assert.equal(r.usage.input_tokens, 2);
    const h = m.requests[0]?.headers;
    // @anthropic-ai/sdk 1.x sends the API key as a bearer token, not x-api-key
    assert.ok(h?.['x-api-key'] === KEY || h?.authorization === `Bearer ${KEY}`);
    assert.ok(h?.['anthropic-version']);
  });

  it('accumulates a streamed message with text and tool use', async () => {
    m.enqueue({ kind: 'ok', text: 'checking', toolCalls: [WEATHER], usage: { input: 12, output: 9 } });
    const s = client.messages.stream({
      model: 'claude-haiku-4-5',
      max_tokens: 50,
      tools: [{ name: 'get_weather', input_schema: { type: 'object' } }],
      messages: [{ role: 'user', content: 'weather?' }],
    });
    let streamed = '';
    s.on('text', (t) => {
      streamed += t;
    });
    const final = await s.finalMessage();
    assert.equal(streamed, 'checking');
    assert.equal(final.stop_reason, 'tool_use');
    const tool = final.content.find((b) => b.type === 'tool_use');
    assert.ok(tool && tool.type === 'tool_use');
    assert.equal(tool.name, 'get_weather');
    assert.deepEqual(tool.input, WEATHER.arguments);
    assert.equal(final.usage.input_tokens, 12);
    assert.equal(final.usage.output_tokens, 9);
  });

  it('iterates raw stream events', async () => {
    const stream = await client.messages.create({ model: 'c', max_tokens: 5, stream: true, messages: [{ role: 'user', content: 'raw events' }] });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    assert.equal(types[0], 'message_start');
    assert.equal(types.at(-1), 'message_stop');
    assert.ok(types.includes('message_delta'));
  });

  it('surfaces error scenarios as typed SDK errors', async () => {
    m.enqueue({ kind: 'error', status: 429 }, { kind: 'error', status: 529 }, { kind: 'contextWindow' });
    const req = { model: 'c', max_tokens: 5, messages: [{ role: 'user' as const, content: 'x' }] };
    await assert.rejects(client.messages.create(req), (e: unknown) => e instanceof Anthropic.RateLimitError);
    await assert.rejects(client.messages.create(req), (e: unknown) => e instanceof Anthropic.APIError && e.status === 529);
    await assert.rejects(client.messages.create(req), (e: unknown) => e instanceof Anthropic.BadRequestError && /prompt is too long/.test(e.message));
    const bad = new Anthropic({ apiKey: 'nope', baseURL: m.url, maxRetries: 0 });
    await assert.rejects(bad.messages.create(req), (e: unknown) => e instanceof Anthropic.AuthenticationError);
  });
});

// ---------- Gemini ----------

describe('gemini mock: raw wire', () => {
  let m: MockProvider;
  before(async () => {
    m = await startMockProvider({ wire: 'gemini' });
  });
  after(() => m.close());
  beforeEach(() => m.reset());
  const call = (model: string, op: string, body: unknown, opts: { query?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}): Promise<Response> =>
    fetch(`${m.url}/v1beta/models/${model}:${op}${opts.query ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(opts.headers ?? { 'x-goog-api-key': KEY }) },
      body: JSON.stringify(body),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  const basic = {
    systemInstruction: { parts: [{ text: 'you are terse' }] },
    contents: [
      { role: 'user', parts: [{ text: 'what is up' }] },
      { role: 'model', parts: [{ text: 'not much' }] },
      { role: 'user', parts: [{ text: 'tell me more' }] },
    ],
  };
  const TOOLS = [{ functionDeclarations: [{ name: 'get_weather', parameters: { type: 'OBJECT' } }] }];

  it('answers generateContent with candidates and usageMetadata', async () => {
    const r = await call('gemini-2.5-flash', 'generateContent', basic);
    assert.equal(r.status, 200);
    const b: any = await r.json();
    assert.equal(b.candidates.length, 1);
    assert.equal(b.candidates[0].content.role, 'model');
    assert.deepEqual(b.candidates[0].content.parts, [{ text: 'echo: tell me more' }]);
    assert.equal(b.candidates[0].finishReason, 'STOP');
    // 3 + 3 + 2 + 3 = 11 input words, 4 output
    assert.equal(b.usageMetadata.promptTokenCount, 11);
    assert.equal(b.usageMetadata.candidatesTokenCount, 4);
    assert.equal(b.usageMetadata.totalTokenCount, 15);
    assert.equal(b.usageMetadata.cachedContentTokenCount, undefined);
    assert.equal(b.modelVersion, 'gemini-2.5-flash');
  });

  it('accepts the key as ?key= and reports cached tokens and MAX_TOKENS', async () => {
    m.enqueue({ kind: 'ok', usage: { input: 50, output: 2, cached: 20 }, finish: 'length' });
    const r = await call('gemini-2.5-flash', 'generateContent', basic, { query: `?key=${KEY}`, headers: {} });
    assert.equal(r.status, 200);
    const b: any = await r.json();
    assert.equal(b.usageMetadata.cachedContentTokenCount, 20);
    assert.equal(b.usageMetadata.promptTokenCount, 50);
    assert.equal(b.candidates[0].finishReason, 'MAX_TOKENS');
    assert.equal(m.requests[0]?.query.key, KEY);
  });

  it('streams SSE chunks (CRLF framed) whose last one carries finishReason and full usage', async () => {
    m.enqueue({ kind: 'ok', chunks: 3 });
    const r = await call('gemini-2.5-flash', 'streamGenerateContent', basic, { query: '?alt=sse' });
    assert.match(r.headers.get('content-type') ?? '', /^text\/event-stream/);
    const raw = await r.text();
    assert.ok(raw.includes('\r\n\r\n'));
    const chunks = parseSse(raw).map((e) => JSON.parse(e.data));
    assert.equal(chunks.length, 3);
    assert.equal(chunks.map((c: any) => c.candidates[0].content.parts[0].text).join(''), 'echo: tell me more');
    for (const c of chunks.slice(0, -1)) {
      assert.equal(c.candidates[0].finishReason, undefined);
      assert.equal(c.usageMetadata.candidatesTokenCount, undefined);
    }
    const last = chunks.at(-1);
    assert.equal(last.candidates[0].finishReason, 'STOP');
    assert.equal(last.usageMetadata.candidatesTokenCount, 4);
    assert.equal(last.usageMetadata.totalTokenCount, 15);
  });

  it('streams a JSON array without alt=sse', async () => {
    const r = await call('g', 'streamGenerateContent', basic);
    const arr: any = await r.json();
    assert.ok(Array.isArray(arr));
    assert.equal(arr.map((c: any) => c.candidates[0].content.parts[0].text).join(''), 'echo: tell me more');
  });

  it('answers functionCall parts when tools are given', async () => {
    m.enqueue({ kind: 'ok', toolCalls: [WEATHER] }, { kind: 'ok', toolCalls: [WEATHER] }, { kind: 'ok', toolCalls: [WEATHER] });
    const b: any = await (await call('g', 'generateContent', { ...basic, tools: TOOLS })).json();
    assert.deepEqual(b.candidates[0].content.parts, [{ functionCall: { name: 'get_weather', args: WEATHER.arguments } }]);
    assert.equal(b.candidates[0].finishReason, 'STOP');
    const chunks = parseSse(await (await call('g', 'streamGenerateContent', { ...basic, tools: TOOLS }, { query: '?alt=sse' })).text()).map((e) => JSON.parse(e.data));
    assert.deepEqual(chunks.at(-1).candidates[0].content.parts[0].functionCall, { name: 'get_weather', args: WEATHER.arguments });
    const noTools: any = await (await call('g', 'generateContent', basic)).json();
    assert.equal(noTools.candidates[0].content.parts[0].text, 'echo: tell me more');
  });

  it('maps error scenarios to Google error bodies', async () => {
    m.enqueue({ kind: 'error', status: 429, retryAfter: 9 }, { kind: 'error', status: 500 }, { kind: 'error', status: 503 }, { kind: 'contextWindow' });
    const cases: [number, string][] = [
      [429, 'RESOURCE_EXHAUSTED'],
      [500, 'INTERNAL'],
      [503, 'UNAVAILABLE'],
      [400, 'INVALID_ARGUMENT'],
    ];
    for (const [status, name] of cases) {
      const r = await call('g', 'generateContent', basic);
      assert.equal(r.status, status);
      const b: any = await r.json();
      assert.equal(b.error.code, status);
      assert.equal(b.error.status, name);
      if (status === 429) {
        assert.equal(r.headers.get('retry-after'), '9');
        assert.equal(b.error.details[0].retryDelay, '9s');
      }
      if (status === 400) assert.match(b.error.message, /^The input token count \(\d+\) exceeds the maximum number of tokens allowed \(\d+\)\.$/);
    }
  });

  it('rejects a missing key with 403 and a wrong key with 400 API_KEY_INVALID; validates contents and roles', async () => {
    const none = await call('g', 'generateContent', basic, { headers: {} });
    assert.equal(none.status, 403);
    assert.equal(((await none.json()) as any).error.status, 'PERMISSION_DENIED');
    const wrong = await call('g', 'generateContent', basic, { headers: { 'x-goog-api-key': 'bad' } });
    assert.equal(wrong.status, 400);
    const wb: any = await wrong.json();
    assert.equal(wb.error.status, 'INVALID_ARGUMENT');
    assert.equal(wb.error.details[0].reason, 'API_KEY_INVALID');
    const noContents = await call('g', 'generateContent', {});
    assert.equal(noContents.status, 400);
    const badRole = await call('g', 'generateContent', { contents: [{ role: 'assistant', parts: [{ text: 'x' }] }] });
    assert.equal(badRole.status, 400);
    assert.match(((await badRole.json()) as any).error.message, /valid role/);
  });

  it('serves deterministic batchEmbedContents', async () => {
    const body = {
      requests: [
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'alpha beta' }] } },
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'alpha beta' }] }, outputDimensionality: 16 },
      ],
    };
    const b: any = await (await call('text-embedding-004', 'batchEmbedContents', body)).json();
    assert.equal(b.embeddings.length, 2);
    assert.equal(b.embeddings[0].values.length, 8);
    assert.equal(b.embeddings[1].values.length, 16);
    const again: any = await (await call('text-embedding-004', 'batchEmbedContents', body)).json();
    assert.deepEqual(again, b);
  });

  it('reset, malformed and hang', async () => {
    m.enqueue({ kind: 'reset' }, { kind: 'reset', afterChunks: 1 }, { kind: 'malformed', afterChunks: 1 }, { kind: 'hang' }, { kind: 'hang', afterChunks: 0 });
    await assert.rejects(call('g', 'generateContent', basic), TypeError);
    const cut = await drain(await call('g', 'streamGenerateContent', basic, { query: '?alt=sse' }));
    assert.ok(cut.error);
    assert.equal(parseSse(cut.text).length, 1);
    const bad = await drain(await call('g', 'streamGenerateContent', basic, { query: '?alt=sse' }));
    assert.equal(bad.error, undefined);
    const evs = parseSse(bad.text);
    assert.equal(evs.length, 2);
    assert.throws(() => JSON.parse(evs[1]?.data ?? ''));
    await assertHangAndAbort(m, (signal) => call('g', 'generateContent', basic, { signal }));
    // hang after 0 events: headers arrive, the body never does
    const ac = new AbortController();
    const r = await call('g', 'streamGenerateContent', basic, { query: '?alt=sse', signal: ac.signal });
    assert.equal(r.status, 200);
    assert.equal(m.inFlight(), 1);
    ac.abort();
    await waitFor(() => m.inFlight() === 0);
  });
});

describe('gemini mock: official @google/genai SDK', () => {
  let m: MockProvider;
  let ai: GoogleGenAI;
  before(async () => {
    m = await startMockProvider({ wire: 'gemini' });
    ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: m.url } });
  });
  after(() => m.close());
  beforeEach(() => m.reset());

  it('parses generateContent and sends the key header', async () => {
    const r = await ai.models.generateContent({ model: 'gemini-2.5-flash', contents: 'genai says hi' });
    assert.equal(r.text, 'echo: genai says hi');
    assert.equal(r.usageMetadata?.promptTokenCount, 3);
    // @google/genai 3.x defaults to /v1 (older releases used /v1beta); the mock serves both
    assert.match(m.requests[0]?.path ?? '', /^\/v1(beta)?\/models\/gemini-2\.5-flash:generateContent$/);
    assert.equal(m.requests[0]?.headers['x-goog-api-key'], KEY);
  });

  it('parses generateContentStream', async () => {
    m.enqueue({ kind: 'ok', chunks: 4 });
    const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: 'stream me please' });
    let text = '';
    let n = 0;
    let finish: string | undefined;
    for await (const c of stream) {
      text += c.text ?? '';
      n++;
      finish = c.candidates?.[0]?.finishReason ?? finish;
    }
    assert.equal(text, 'echo: stream me please');
    assert.equal(n, 4);
    assert.equal(finish, 'STOP');
    assert.equal(m.requests[0]?.query.alt, 'sse');
  });

  it('parses function calls and embeddings', async () => {
    m.enqueue({ kind: 'ok', toolCalls: [WEATHER] });
    const r = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'weather?',
      config: { tools: [{ functionDeclarations: [{ name: 'get_weather' }] }] },
    });
    assert.deepEqual(r.functionCalls?.map((f) => [f.name, f.args]), [['get_weather', WEATHER.arguments]]);
    const e = await ai.models.embedContent({ model: 'text-embedding-004', contents: ['one', 'two'], config: { outputDimensionality: 4 } });
    assert.equal(e.embeddings?.length, 2);
    assert.equal(e.embeddings?.[0]?.values?.length, 4);
  });

  it('surfaces errors with their status', async () => {
    m.enqueue({ kind: 'error', status: 429 });
    await assert.rejects(ai.models.generateContent({ model: 'g', contents: 'x' }), (e: any) => e.status === 429 && /RESOURCE_EXHAUSTED/.test(e.message));
    const bad = new GoogleGenAI({ apiKey: 'nope', httpOptions: { baseUrl: m.url } });
    await assert.rejects(bad.models.generateContent({ model: 'g', contents: 'x' }), (e: any) => e.status === 400 && /API key not valid/.test(e.message));
  });
});

// ---------- misc ----------

describe('mock plumbing', () => {
  it('splits text into exactly the requested pieces when it can', () => {
    assert.deepEqual(splitPieces('abcdef', 3), ['ab', 'cd', 'ef']);
    assert.deepEqual(splitPieces('ab', 5), ['a', 'b']);
    assert.deepEqual(splitPieces('', 3), []);
    assert.equal(splitPieces('hello world', 4).join(''), 'hello world');
  });

  it('close() ends hanging requests and frees the port', async () => {
    const m = await startMockProvider({ wire: 'anthropic', name: 'claude-primary' });
    const ac = new AbortController();
    try {
      assert.equal(m.name, 'claude-primary');
      m.setDefault({ kind: 'hang' });
      const p = fetch(m.url + '/v1/messages', {
        method: 'POST',
        headers: { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({ model: 'c', max_tokens: 1, messages: [] }),
        signal: ac.signal,
      });
      p.catch(() => {});
      await waitFor(() => m.inFlight() === 1);
      const t0 = Date.now();
      await m.close();
      assert.ok(Date.now() - t0 < 1000);
      await assert.rejects(p, (e: Error) => e.name !== 'AbortError', 'closed by the server, not aborted by the client');
      await assert.rejects(fetch(m.url + '/v1/messages', { method: 'POST' }));
    } finally {
      ac.abort();
      await m.close();
    }
  });

  it('record:false keeps no requests', async () => {
    const m = await startMockProvider({ wire: 'openai', record: false, apiKey: 'k2' });
    try {
      const r = await fetch(m.url + '/chat/completions', {
        method: 'POST',
        headers: { authorization: 'Bearer k2' },
        body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'a' }] }),
      });
      assert.equal(r.status, 200);
      assert.equal(m.requests.length, 0);
    } finally {
      await m.close();
    }
  });

  it('cli starts the three wires, prints their URLs, serves, and exits 0 on SIGTERM', async () => {
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const child = spawn(process.execPath, [cli, '--openai', '0', '--anthropic', '0', '--gemini', '0', '--api-key', 'cli-key'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      child.stdout.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('cli did not print its URLs')), 5000);
        child.stdout.on('data', (d: string) => {
          out += d;
          if (out.includes('\n')) {
            clearTimeout(timer);
            resolve();
          }
        });
        child.once('exit', (code) => reject(new Error(`cli exited early with ${code}`)));
      });
      const urls = JSON.parse(out.trim()) as Record<string, string>;
      assert.deepEqual(Object.keys(urls).sort(), ['anthropic', 'gemini', 'openai']);
      assert.match(urls.openai ?? '', /^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const r = await fetch(urls.openai + '/chat/completions', {
        method: 'POST',
        headers: { authorization: 'Bearer cli-key' },
        body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'via cli' }] }),
      });
      assert.equal(((await r.json()) as any).choices[0].message.content, 'echo: via cli');
      const g = await fetch(`${urls.gemini}/v1beta/models/g:generateContent?key=cli-key`, {
        method: 'POST',
        body: JSON.stringify({ contents: [{ parts: [{ text: 'y' }] }] }),
      });
      assert.equal(g.status, 200);
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code, signal] = await exited;
      assert.equal(signal, null);
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
