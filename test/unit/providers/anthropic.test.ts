import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';

import { anthropic, DEFAULT_MAX_TOKENS } from '../../../sidecar/providers/anthropic.ts';
import type { ChatChunk, ChatRequest } from '../../../sidecar/providers/chat.ts';
import type { Target } from '../../../sidecar/providers/types.ts';
import { assertGolden, readFixture } from '../golden.ts';

const dir = 'providers/anthropic';
const target: Target = { provider: 'anthropic', baseURL: 'https://api.anthropic.com/', apiKey: 'sk-ant-test', model: 'claude-sonnet-4-5' };

/** Stream fixtures keep `data` as JSON for review; the wire carries it as a string. */
interface FixtureEvent { event?: string; data: unknown }

function decode(name: string): { chunks: ChatChunk[]; usage: unknown; done: boolean } {
  const decoder = anthropic.streamDecoder(target);
  const chunks: ChatChunk[] = [];
  for (const ev of readFixture<FixtureEvent[]>(`${dir}/${name}.input.json`)) {
    chunks.push(...decoder.push({ event: ev.event, data: JSON.stringify(ev.data) }));
  }
  return { chunks, usage: decoder.usage(), done: decoder.done() };
}

function request(overrides: Partial<ChatRequest>): ChatRequest {
  return { model: 'claude-sonnet-4-5', messages: [{ role: 'user', content: 'hi' }], ...overrides };
}

before(() => mock.timers.enable({ apis: ['Date'], now: 1_750_000_000_000 }));
after(() => mock.timers.reset());

describe('anthropic adapter: addressing', () => {
  it('posts to /v1/messages on the base URL, trailing slash or not', () => {
    assert.equal(anthropic.chatURL(target, false), 'https://api.anthropic.com/v1/messages');
    assert.equal(anthropic.chatURL({ ...target, baseURL: 'http://mock:8080' }, true), 'http://mock:8080/v1/messages');
  });

  it('authenticates with x-api-key and pins anthropic-version; extra headers cannot replace the key', () => {
    const headers = anthropic.headers({ ...target, headers: { 'anthropic-beta': 'tools-2024', 'x-api-key': 'wrong' } });
    assert.deepEqual(headers, {
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': 'tools-2024',
      'x-api-key': 'sk-ant-test',
    });
  });

  it('reads the message out of an error body', () => {
    const body = { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' }, request_id: 'req_1' };
    assert.equal(anthropic.errorMessage(body), 'max_tokens: Field required');
    assert.equal(anthropic.errorMessage({ detail: 'nope' }), undefined);
    assert.equal(anthropic.errorMessage(null), undefined);
  });
});

describe('anthropic adapter: request', () => {
  for (const name of ['request-system-multiturn', 'request-images', 'request-tools', 'request-json-schema', 'request-json-object-with-tools']) {
    it(`${name} matches its golden`, () => {
      const req = readFixture<ChatRequest>(`${dir}/${name}.input.json`);
      assertGolden(`${dir}/${name}.expected.json`, anthropic.toChatBody(req, target));
    });
  }

  it(`defaults max_tokens to ${DEFAULT_MAX_TOKENS}, which Anthropic requires`, () => {
    assert.equal(anthropic.toChatBody(request({}), target).max_tokens, 4096);
    assert.equal(anthropic.toChatBody(request({ max_tokens: 10 }), target).max_tokens, 10);
  });

  it('maps each tool_choice form', () => {
    const tools = [{ type: 'function' as const, function: { name: 'f' } }];
    const choiceFor = (tool_choice: ChatRequest['tool_choice']) => anthropic.toChatBody(request({ tools, tool_choice }), target).tool_choice;
    assert.deepEqual(choiceFor('auto'), { type: 'auto' });
    assert.deepEqual(choiceFor('none'), { type: 'none' });
    assert.deepEqual(choiceFor('required'), { type: 'any' });
    assert.deepEqual(choiceFor({ type: 'function', function: { name: 'f' } }), { type: 'tool', name: 'f' });
    assert.equal(choiceFor(undefined), undefined);
  });

  it('puts disable_parallel_tool_use on an implicit auto choice, never on none', () => {
    const tools = [{ type: 'function' as const, function: { name: 'f' } }];
    assert.deepEqual(anthropic.toChatBody(request({ tools, parallel_tool_calls: false }), target).tool_choice,
      { type: 'auto', disable_parallel_tool_use: true });
    assert.deepEqual(anthropic.toChatBody(request({ tools, tool_choice: 'none', parallel_tool_calls: false }), target).tool_choice,
      { type: 'none' });
  });

  it('rejects n > 1, which the Messages API cannot produce', () => {
    assert.throws(() => anthropic.toChatBody(request({ n: 2 }), target), /n > 1 is not supported/);
    assert.doesNotThrow(() => anthropic.toChatBody(request({ n: 1 }), target));
  });
});

describe('anthropic adapter: response', () => {
  for (const name of ['response-text', 'response-tool-use', 'response-json-tool']) {
    it(`${name} matches its golden`, () => {
      const body = readFixture(`${dir}/${name}.input.json`);
      assertGolden(`${dir}/${name}.expected.json`, anthropic.fromChatBody(body, target));
    });
  }

  it('maps every stop_reason', () => {
    const finishFor = (stop_reason: string) => anthropic.fromChatBody(
      { id: 'msg_1', model: 'm', content: [{ type: 'text', text: 'x' }], stop_reason, usage: { input_tokens: 1, output_tokens: 1 } },
      target,
    ).choices[0]?.finish_reason;
    assert.equal(finishFor('end_turn'), 'stop');
    assert.equal(finishFor('stop_sequence'), 'stop');
    assert.equal(finishFor('pause_turn'), 'stop');
    assert.equal(finishFor('max_tokens'), 'length');
    assert.equal(finishFor('model_context_window_exceeded'), 'length');
    assert.equal(finishFor('tool_use'), 'tool_calls');
    assert.equal(finishFor('refusal'), 'content_filter');
  });
});

describe('anthropic adapter: stream', () => {
  for (const name of ['stream-text', 'stream-tool-calls', 'stream-json-mode']) {
    it(`${name} decodes to its golden chunks`, () => {
      assertGolden(`${dir}/${name}.expected.json`, decode(name));
    });
  }

  it('is not done before message_stop', () => {
    const decoder = anthropic.streamDecoder(target);
    const events = readFixture<FixtureEvent[]>(`${dir}/stream-text.input.json`);
    for (const ev of events.slice(0, -1)) decoder.push({ event: ev.event, data: JSON.stringify(ev.data) });
    assert.equal(decoder.done(), false);
    assert.deepEqual(decoder.usage(), { prompt_tokens: 1025, completion_tokens: 15, total_tokens: 1040, prompt_tokens_details: { cached_tokens: 1000 } });
  });

  it('reports no usage before message_start', () => {
    assert.equal(anthropic.streamDecoder(target).usage(), undefined);
  });

  it('throws the provider message with its type on an error event', () => {
    const decoder = anthropic.streamDecoder(target);
    const events = readFixture<FixtureEvent[]>(`${dir}/stream-error.input.json`);
    const last = events.pop()!;
    for (const ev of events) decoder.push({ event: ev.event, data: JSON.stringify(ev.data) });
    assert.throws(
      () => decoder.push({ event: last.event, data: JSON.stringify(last.data) }),
      (err: Error & { providerErrorType?: string }) => err.message === 'Overloaded' && err.providerErrorType === 'overloaded_error',
    );
    assert.equal(decoder.done(), false);
  });
});
