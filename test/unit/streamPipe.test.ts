// sidecar/proxy/streamPipe.ts (+ passthrough.ts usage helpers, openAIStreamEncoder): what the client reads of
// an upstream stream, and the usage the sidecar meters from it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { openAIStreamEncoder } from '../../sidecar/ingress/openai.ts';
import type { StreamEncoder } from '../../sidecar/ingress/types.ts';
import { anthropic } from '../../sidecar/providers/anthropic.ts';
import type { ChatChunk, SseEvent, Usage } from '../../sidecar/providers/chat.ts';
import { openAIStreamDecoder } from '../../sidecar/providers/openai.ts';
import type { StreamDecoder, Target } from '../../sidecar/providers/types.ts';
import { nativeUsage, passthroughBody } from '../../sidecar/proxy/passthrough.ts';
import { mergeAnthropicUsage, toUsage } from '../../sidecar/providers/anthropic.ts';
import { anthropicPassthroughPipe, openAIPassthroughPipe, translatePipe, type StreamPipe } from '../../sidecar/proxy/streamPipe.ts';

const d = (data: unknown): SseEvent => ({ data: typeof data === 'string' ? data : JSON.stringify(data) });
const ev = (event: string, data: unknown): SseEvent => ({ event, data: JSON.stringify(data) });
const framed = (e: SseEvent) => (e.event === undefined ? `data: ${e.data}\n\n` : `event: ${e.event}\ndata: ${e.data}\n\n`);

function run(pipe: StreamPipe, events: SseEvent[]): string {
  let out = '';
  for (const e of events) out += pipe.push(e);
  return out + pipe.finish();
}

// ------------------------------------------------------------------------------------------ OpenAI wire

const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_750_000_000, model: 'gpt-4o-2024-08-06', system_fingerprint: 'fp_1' };
const USAGE: Usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15, prompt_tokens_details: { cached_tokens: 0 } };
const role = d({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null });
const hello = d({ ...base, choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }], usage: null });
const stop = d({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null });
const usageOnly = d({ ...base, choices: [], usage: USAGE });
const azureFilter = d({
  choices: [], created: 0, id: '', model: '', object: '',
  prompt_filter_results: [{ prompt_index: 0, content_filter_results: { hate: { filtered: false, severity: 'safe' } } }],
});
const DONE = d('[DONE]');

describe('openAIPassthroughPipe', () => {
  it('forwards content chunks byte for byte', () => {
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    for (const e of [role, hello, stop]) assert.equal(pipe.push(e), framed(e));
    assert.equal(pipe.usage(), undefined, '"usage":null is not usage');
  });

  it('strips the usage-only chunk when the client did not ask for usage, but still meters it', () => {
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    assert.equal(run(pipe, [role, hello, stop, usageOnly, DONE]), [role, hello, stop].map(framed).join('') + 'data: [DONE]\n\n');
    assert.deepEqual(pipe.usage(), USAGE);
    assert.equal(pipe.done(), true);
  });

  it('forwards the usage-only chunk when the client asked', () => {
    const pipe = openAIPassthroughPipe(openAIStreamEncoder({ includeUsage: true }), true);
    assert.equal(run(pipe, [role, hello, stop, usageOnly, DONE]), [role, hello, stop, usageOnly].map(framed).join('') + 'data: [DONE]\n\n');
    assert.deepEqual(pipe.usage(), USAGE);
  });

  it('drops Azure\'s leading prompt-filter chunk (choices: [], blank model) either way', () => {
    for (const wants of [false, true]) {
      const pipe = openAIPassthroughPipe(openAIStreamEncoder({ includeUsage: wants }), wants);
      assert.equal(pipe.push(azureFilter), '');
      assert.equal(pipe.usage(), undefined);
    }
  });

  it('a chunk carrying both choices and a usage object is forwarded and metered', () => {
    const both = d({ ...base, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: USAGE });
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    assert.equal(pipe.push(both), framed(both));
    assert.deepEqual(pipe.usage(), USAGE);
  });

  it('recognises a usage object written with a space after the colon', () => {
    const spaced = d(`{"id":"x","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage": {"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}`);
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    assert.equal(pipe.push(spaced), '');
    assert.deepEqual(pipe.usage(), { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
  });

  it('text that merely mentions "usage" or "choices":[] inside a string is forwarded, not parsed as usage or filter', () => {
    const tricky = d({ ...base, choices: [{ index: 0, delta: { content: 'the "usage": {"x":1} and "choices":[] here' }, finish_reason: null }], usage: null });
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    assert.equal(pipe.push(tricky), framed(tricky));
    assert.equal(pipe.usage(), undefined);
  });

  it('throws on an error chunk, with the provider error attached', () => {
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    pipe.push(role);
    assert.throws(() => pipe.push(d({ error: { message: 'The server had an error', type: 'server_error', code: null } })),
      (err: Error & { providerError?: unknown }) => {
        assert.equal(err.message, 'The server had an error');
        assert.deepEqual(err.providerError, { message: 'The server had an error', type: 'server_error', code: null });
        return true;
      });
    assert.throws(() => pipe.push(d('{"error": {"type":"x"}}')), /upstream stream error/);
  });

  it('a truncated or non-object event is a SyntaxError (framing check), not forwarded', () => {
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    for (const bad of ['{"id":"chatcmpl-1","choices":[{"delta":{"content":"Hel', 'garbage', '', '[1,2]', '"usage"']) {
      assert.throws(() => pipe.push(d(bad)), SyntaxError, JSON.stringify(bad));
    }
  });

  it('[DONE] is swallowed and marks done; finish writes [DONE] exactly once', () => {
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    assert.equal(pipe.done(), false);
    assert.equal(pipe.push(DONE), '');
    assert.equal(pipe.done(), true);
    assert.equal(pipe.finish(), 'data: [DONE]\n\n');
  });

  it('fail() ends the stream in the OpenAI error shape', () => {
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    assert.equal(pipe.fail('api_error', 'upstream went away'),
      `data: ${JSON.stringify({ error: { message: 'upstream went away', type: 'api_error', param: null, code: null } })}\n\n`);
  });

  it('meters the same usage as the translating decoder on the same stream', () => {
    const events = [azureFilter, role, hello, stop, usageOnly, DONE];
    const pipe = openAIPassthroughPipe(openAIStreamEncoder(), false);
    const dec = openAIStreamDecoder();
    for (const e of events) { pipe.push(e); dec.push(e); }
    assert.deepEqual(pipe.usage(), dec.usage());
    assert.equal(pipe.done(), dec.done());
  });
});

// --------------------------------------------------------------------------------------- Anthropic wire

const msgStart = ev('message_start', {
  type: 'message_start',
  message: {
    id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-sonnet-4-5', content: [], stop_reason: null, stop_sequence: null,
    usage: { input_tokens: 10, cache_creation_input_tokens: 2, cache_read_input_tokens: 5, output_tokens: 1 },
  },
});
const blockStart = ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } });
const ping = ev('ping', { type: 'ping' });
const delta = ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } });
const blockStop = ev('content_block_stop', { type: 'content_block_stop', index: 0 });
const msgDelta = ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 25 } });
const msgStop = ev('message_stop', { type: 'message_stop' });
const ANTHROPIC_STREAM = [msgStart, blockStart, ping, delta, blockStop, msgDelta, msgStop];
const anthropicTarget: Target = { provider: 'anthropic', baseURL: 'https://api.anthropic.com', apiKey: 'k', model: 'claude-sonnet-4-5' };

function anthropicEncoder(): StreamEncoder {
  return {
    chunk: () => assert.fail('passthrough must not encode chunks'),
    end: () => assert.fail('passthrough must not end through the encoder'),
    error: (type, message) => `event: error\ndata: ${JSON.stringify({ type: 'error', error: { type, message } })}\n\n`,
  };
}

describe('anthropicPassthroughPipe', () => {
  it('forwards every event as framed, and finish adds nothing', () => {
    const pipe = anthropicPassthroughPipe(anthropicEncoder());
    assert.equal(run(pipe, ANTHROPIC_STREAM), ANTHROPIC_STREAM.map(framed).join(''));
  });

  it('reads usage from message_start, then message_delta overrides the output count', () => {
    const pipe = anthropicPassthroughPipe(anthropicEncoder());
    pipe.push(msgStart);
    assert.deepEqual(pipe.usage(), { prompt_tokens: 17, completion_tokens: 1, total_tokens: 18, prompt_tokens_details: { cached_tokens: 5 } });
    for (const e of [blockStart, ping, delta, blockStop]) pipe.push(e);
    pipe.push(msgDelta);
    assert.deepEqual(pipe.usage(), { prompt_tokens: 17, completion_tokens: 25, total_tokens: 42, prompt_tokens_details: { cached_tokens: 5 } });
  });

  it('is done on message_stop only', () => {
    const pipe = anthropicPassthroughPipe(anthropicEncoder());
    for (const e of ANTHROPIC_STREAM.slice(0, -1)) { pipe.push(e); assert.equal(pipe.done(), false); }
    pipe.push(msgStop);
    assert.equal(pipe.done(), true);
  });

  it('throws on an error event, with the provider error type', () => {
    const pipe = anthropicPassthroughPipe(anthropicEncoder());
    pipe.push(msgStart);
    assert.throws(() => pipe.push(ev('error', { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } })),
      (err: Error & { providerErrorType?: string }) => err.message === 'Overloaded' && err.providerErrorType === 'overloaded_error');
    assert.throws(() => pipe.push(ev('error', { type: 'error', error: {} })), /upstream stream error/);
  });

  it('a truncated or empty event is a SyntaxError (framing check)', () => {
    const pipe = anthropicPassthroughPipe(anthropicEncoder());
    assert.throws(() => pipe.push({ event: 'content_block_delta', data: '{"type":"content_block_delta","index":0,"delta":{"type":"text_del' }), SyntaxError);
    assert.throws(() => pipe.push({ event: 'ping', data: '' }), SyntaxError);
  });

  it('fail() delegates to the encoder', () => {
    assert.equal(anthropicPassthroughPipe(anthropicEncoder()).fail('overloaded_error', 'x'), anthropicEncoder().error('overloaded_error', 'x'));
  });

  it('a message_delta repeating the cumulative input counts leaves the prompt count unchanged', () => {
    const pipe = anthropicPassthroughPipe(anthropicEncoder());
    pipe.push(msgStart);
    pipe.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: 10, cache_creation_input_tokens: 2, cache_read_input_tokens: 5, output_tokens: 30 } }));
    assert.deepEqual(pipe.usage(), { prompt_tokens: 17, completion_tokens: 30, total_tokens: 47, prompt_tokens_details: { cached_tokens: 5 } });
  });

  // The Anthropic SDK types message_delta usage as `input_tokens: number | null` (likewise the cache fields).
  // anthropicUsage tests `!== undefined`, so a null input_tokens recomputes the prompt as null + 0 + 0 = 0.
  it('a message_delta with input_tokens: null keeps message_start\'s prompt count', () => {
    const pipe = anthropicPassthroughPipe(anthropicEncoder());
    pipe.push(msgStart);
    pipe.push(ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: null, cache_creation_input_tokens: null, cache_read_input_tokens: null, output_tokens: 30 } }));
    assert.deepEqual(pipe.usage(), { prompt_tokens: 17, completion_tokens: 30, total_tokens: 47, prompt_tokens_details: { cached_tokens: 5 } });
  });

  it('property: meters the same usage as the Anthropic stream decoder (the translate path) on the same stream', () => {
    const count = fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined });
    const nullable = fc.oneof(count, fc.constant(null));
    const deltaUsage = fc.record({ input_tokens: nullable, cache_creation_input_tokens: nullable, cache_read_input_tokens: nullable, output_tokens: fc.integer({ min: 0, max: 10_000 }) }, { requiredKeys: ['output_tokens'] });
    const startUsage = fc.record({ input_tokens: fc.integer({ min: 0, max: 10_000 }), cache_creation_input_tokens: count, cache_read_input_tokens: count, output_tokens: fc.integer({ min: 0, max: 5 }) }, { requiredKeys: ['input_tokens', 'output_tokens'] });
    fc.assert(fc.property(startUsage, fc.array(deltaUsage, { maxLength: 2 }), (su, dus) => {
      const events = [
        ev('message_start', { type: 'message_start', message: { id: 'msg', type: 'message', role: 'assistant', model: 'm', content: [], usage: su } }),
        ...dus.map((u) => ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: u })),
        msgStop,
      ];
      const pipe = anthropicPassthroughPipe(anthropicEncoder());
      const dec = anthropic.streamDecoder(anthropicTarget);
      for (const e of events) { pipe.push(e); dec.push(e); }
      assert.deepEqual(pipe.usage(), dec.usage(), JSON.stringify({ su, dus }));
    }), { numRuns: 500 });
  });
});

// -------------------------------------------------------------------------------------------- translate

describe('translatePipe', () => {
  it('delegates: every decoded chunk goes through the encoder; finish, fail, usage and done come from the pair', () => {
    const calls: string[] = [];
    const c = (id: string) => ({ id } as unknown as ChatChunk);
    const decoder: StreamDecoder = {
      push: (e) => (e.data === 'two' ? [c('a'), c('b')] : e.data === 'none' ? [] : [c(e.data)]),
      usage: () => USAGE,
      done: () => true,
    };
    const encoder: StreamEncoder = {
      chunk: (x) => { calls.push(x.id); return `<${x.id}>`; },
      end: (u) => `<end ${u?.total_tokens}>`,
      error: (t, m) => `<err ${t} ${m}>`,
    };
    const pipe = translatePipe(decoder, encoder);
    assert.equal(pipe.push(d('two')), '<a><b>');
    assert.equal(pipe.push(d('none')), '');
    assert.equal(pipe.finish(), '<end 15>');
    assert.equal(pipe.fail('api_error', 'boom'), '<err api_error boom>');
    assert.deepEqual(pipe.usage(), USAGE);
    assert.equal(pipe.done(), true);
    assert.deepEqual(calls, ['a', 'b']);
  });

  it('Anthropic upstream → OpenAI client: text arrives as OpenAI chunks, usage only when asked, then [DONE]', () => {
    for (const includeUsage of [false, true]) {
      const pipe = translatePipe(anthropic.streamDecoder(anthropicTarget), openAIStreamEncoder({ includeUsage }));
      const out = run(pipe, ANTHROPIC_STREAM);
      const frames = out.split('\n\n').filter(Boolean).map((f) => f.replace(/^data: /, ''));
      assert.equal(frames.at(-1), '[DONE]');
      const chunks = frames.slice(0, -1).map((f) => JSON.parse(f) as ChatChunk);
      assert.equal(chunks.map((ch) => ch.choices[0]?.delta.content ?? '').join(''), 'Hi');
      const usageChunks = chunks.filter((ch) => ch.usage);
      assert.equal(usageChunks.length, includeUsage ? 1 : 0);
      if (includeUsage) assert.deepEqual(usageChunks[0]!.usage, { prompt_tokens: 17, completion_tokens: 25, total_tokens: 42, prompt_tokens_details: { cached_tokens: 5 } });
      assert.equal(pipe.done(), true);
    }
  });
});

describe('openAIStreamEncoder', () => {
  const chunk = { ...base, choices: [{ index: 0, delta: { content: 'x' }, finish_reason: null }] } as ChatChunk;

  it('writes each chunk as one data frame', () => {
    assert.equal(openAIStreamEncoder().chunk(chunk), `data: ${JSON.stringify(chunk)}\n\n`);
  });

  it('end: a usage chunk (id/created/model of the last chunk, choices []) only if includeUsage, then [DONE]', () => {
    const on = openAIStreamEncoder({ includeUsage: true });
    on.chunk(chunk);
    assert.equal(on.end(USAGE),
      `data: ${JSON.stringify({ id: base.id, object: 'chat.completion.chunk', created: base.created, model: base.model, choices: [], usage: USAGE })}\n\ndata: [DONE]\n\n`);
    const off = openAIStreamEncoder({ includeUsage: false });
    off.chunk(chunk);
    assert.equal(off.end(USAGE), 'data: [DONE]\n\n');
    assert.equal(openAIStreamEncoder().end(USAGE), 'data: [DONE]\n\n', 'default is no usage');
  });

  it('end without usage known is just [DONE]', () => {
    const on = openAIStreamEncoder({ includeUsage: true });
    on.chunk(chunk);
    assert.equal(on.end(undefined), 'data: [DONE]\n\n');
  });

  it('error frame in the OpenAI error shape', () => {
    assert.equal(openAIStreamEncoder().error('rate_limit_error', 'slow down'),
      'data: {"error":{"message":"slow down","type":"rate_limit_error","param":null,"code":null}}\n\n');
  });
});

// ------------------------------------------------------------------------------------- passthrough.ts

describe('passthroughBody', () => {
  const t: Target = { provider: 'openai', baseURL: 'u', apiKey: 'k', model: 'gpt-4o-2024-08-06' };

  it('replaces the model and keeps every other field, without mutating the input', () => {
    const body = { model: 'auto', messages: [{ role: 'user', content: 'hi' }], temperature: 0.2, logit_bias: { 1: 2 } };
    const copy = structuredClone(body);
    assert.deepEqual(passthroughBody('openai', body, t), { ...copy, model: 'gpt-4o-2024-08-06' });
    assert.deepEqual(body, copy);
  });

  it('forces include_usage on OpenAI streams, keeping other stream_options', () => {
    assert.deepEqual(passthroughBody('openai', { model: 'a', stream: true }, t).stream_options, { include_usage: true });
    assert.deepEqual(passthroughBody('openai', { model: 'a', stream: true, stream_options: { include_usage: false, include_obfuscation: false } }, t).stream_options,
      { include_usage: true, include_obfuscation: false });
  });

  it('leaves non-streaming and Anthropic bodies without stream_options', () => {
    assert.equal('stream_options' in passthroughBody('openai', { model: 'a', stream: false }, t), false);
    assert.equal('stream_options' in passthroughBody('anthropic', { model: 'a', stream: true, max_tokens: 5 }, t), false);
  });
});

describe('Anthropic usage / nativeUsage', () => {
  it('prompt tokens include cache reads and writes; cached = cache reads', () => {
    assert.deepEqual(toUsage({ input_tokens: 100, cache_read_input_tokens: 50, cache_creation_input_tokens: 25, output_tokens: 10 }),
      { prompt_tokens: 175, completion_tokens: 10, total_tokens: 185, prompt_tokens_details: { cached_tokens: 50 } });
    assert.deepEqual(toUsage({ input_tokens: 3, output_tokens: 4 }),
      { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7, prompt_tokens_details: { cached_tokens: 0 } });
  });

  it('later counts override earlier ones; absent and null ones are kept from prev', () => {
    const prev = mergeAnthropicUsage(undefined, { input_tokens: 100, cache_read_input_tokens: 50, output_tokens: 1 });
    assert.deepEqual(toUsage(mergeAnthropicUsage(prev, { output_tokens: 80 })), { prompt_tokens: 150, completion_tokens: 80, total_tokens: 230, prompt_tokens_details: { cached_tokens: 50 } });
    assert.deepEqual(mergeAnthropicUsage(prev, {}), prev);
    assert.deepEqual(mergeAnthropicUsage(prev, { input_tokens: null, output_tokens: 9 }), { ...prev, output_tokens: 9 });
  });

  it('nativeUsage: Anthropic bodies are converted, OpenAI usage is taken as is, none is undefined', () => {
    assert.deepEqual(nativeUsage('anthropic', { usage: { input_tokens: 5, output_tokens: 6 } }), { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11, prompt_tokens_details: { cached_tokens: 0 } });
    assert.deepEqual(nativeUsage('openai', { usage: USAGE }), USAGE);
    assert.equal(nativeUsage('openai', {}), undefined);
    assert.equal(nativeUsage('anthropic', undefined), undefined);
  });
});
