import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import Anthropic from '@anthropic-ai/sdk';

import { anthropicIngress } from '../../../sidecar/ingress/anthropic.ts';
import type { ChatChunk, ChatResponse, Usage } from '../../../sidecar/providers/chat.ts';
import { assertGolden, readFixture } from '../golden.ts';

const dir = 'ingress/anthropic';

interface StreamFixture { chunks: ChatChunk[]; endUsage?: Usage }

/** Runs a fixture's chunks through a fresh encoder, then end(). */
function encode(name: string): string {
  const { chunks, endUsage } = readFixture<StreamFixture>(`${dir}/${name}.input.json`);
  const encoder = anthropicIngress.streamEncoder();
  let wire = '';
  for (const c of chunks) wire += encoder.chunk(c);
  return wire + encoder.end(endUsage);
}

/** Splits SSE output into frames, failing on anything that is not exactly `event: X\ndata: JSON\n\n`. */
function frames(wire: string): { event: string; data: unknown }[] {
  assert.ok(wire.endsWith('\n\n'), 'output ends with a blank line');
  return wire.slice(0, -2).split('\n\n').map((raw) => {
    const match = /^event: ([a-z_]+)\ndata: (.+)$/.exec(raw);
    assert.ok(match, `malformed frame: ${JSON.stringify(raw)}`);
    const data = JSON.parse(match[2]!) as { type?: string };
    assert.equal(data.type, match[1], 'the data type repeats the event name');
    return { event: match[1]!, data };
  });
}

/** An Anthropic SDK client whose every request is answered with `body`. */
function sdkAnswering(body: string, contentType: string, status = 200): Anthropic {
  return new Anthropic({
    apiKey: 'test',
    maxRetries: 0,
    fetch: async () => new Response(body, { status, headers: { 'content-type': contentType } }),
  });
}

describe('anthropic ingress: request', () => {
  for (const name of ['request-basic', 'request-system-blocks-images', 'request-tools', 'request-structured-output']) {
    it(`${name} matches its golden`, () => {
      const body = readFixture<Record<string, unknown>>(`${dir}/${name}.input.json`);
      assertGolden(`${dir}/${name}.expected.json`, anthropicIngress.toCanonical(body));
    });
  }

  it('maps each tool_choice form', () => {
    const choiceFor = (tool_choice: unknown) => anthropicIngress.toCanonical({
      model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }],
      tools: [{ name: 'f', input_schema: { type: 'object' } }], tool_choice,
    }).tool_choice;
    assert.equal(choiceFor({ type: 'auto' }), 'auto');
    assert.equal(choiceFor({ type: 'any' }), 'required');
    assert.equal(choiceFor({ type: 'none' }), 'none');
    assert.deepEqual(choiceFor({ type: 'tool', name: 'f' }), { type: 'function', function: { name: 'f' } });
  });

  it('refuses what it cannot translate rather than dropping it', () => {
    const base = { model: 'm', max_tokens: 1 };
    assert.throws(() => anthropicIngress.toCanonical({
      ...base, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBER' } }] }],
    }), /document content block is not supported/);
    assert.throws(() => anthropicIngress.toCanonical({
      ...base, messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }],
    }), /web_search_20250305 server tool is not supported/);
  });
});

describe('anthropic ingress: response', () => {
  for (const name of ['response-text', 'response-tool-calls', 'response-length']) {
    it(`${name} matches its golden`, () => {
      const res = readFixture<ChatResponse>(`${dir}/${name}.input.json`);
      assertGolden(`${dir}/${name}.expected.json`, anthropicIngress.fromCanonical(res));
    });
  }

  it('maps finish reasons to stop reasons', () => {
    const stopFor = (finish_reason: ChatResponse['choices'][number]['finish_reason']) => (anthropicIngress.fromCanonical({
      id: 'x', object: 'chat.completion', created: 0, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason }],
    }) as { stop_reason: string }).stop_reason;
    assert.equal(stopFor('stop'), 'end_turn');
    assert.equal(stopFor('length'), 'max_tokens');
    assert.equal(stopFor('tool_calls'), 'tool_use');
    assert.equal(stopFor('content_filter'), 'refusal');
  });

  it('is a Message the Anthropic SDK accepts', async () => {
    const body = anthropicIngress.fromCanonical(readFixture<ChatResponse>(`${dir}/response-tool-calls.input.json`));
    const msg = await sdkAnswering(JSON.stringify(body), 'application/json')
      .messages.create({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(msg.stop_reason, 'tool_use');
    assert.deepEqual(msg.content.map((b) => b.type === 'tool_use' ? b.input : null), [{ city: 'Paris' }, { city: 'Berlin' }]);
  });
});

describe('anthropic ingress: stream', () => {
  for (const name of ['stream-text', 'stream-tool-calls', 'stream-cut-short']) {
    it(`${name} encodes to its golden frames`, () => {
      assertGolden(`${dir}/${name}.expected.json`, frames(encode(name)));
    });
  }

  it('writes nothing more once the message is complete', () => {
    const encoder = anthropicIngress.streamEncoder();
    for (const c of readFixture<StreamFixture>(`${dir}/stream-text.input.json`).chunks) encoder.chunk(c);
    assert.equal(encoder.end(undefined), '', 'message_stop was already sent with the usage chunk');
  });

  it('encodes only choice 0, since an Anthropic message has no alternatives', () => {
    const encoder = anthropicIngress.streamEncoder();
    const chunk = (index: number, content: string): ChatChunk => ({
      id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index, delta: { content }, finish_reason: null }],
    });
    const texts = frames(encoder.chunk(chunk(1, 'other')) + encoder.chunk(chunk(0, 'mine')) + encoder.end(undefined))
      .flatMap((f) => (f.data as { delta?: { text?: string } }).delta?.text ?? []);
    assert.deepEqual(texts, ['mine']);
  });

  it('still emits a well-formed message for an empty stream', () => {
    const events = frames(anthropicIngress.streamEncoder().end(undefined)).map((f) => f.event);
    assert.deepEqual(events, ['message_start', 'message_delta', 'message_stop']);
  });

  it('ends with an error frame in Anthropic error shape', () => {
    const encoder = anthropicIngress.streamEncoder();
    const [first] = readFixture<StreamFixture>(`${dir}/stream-text.input.json`).chunks;
    encoder.chunk(first!);
    assert.deepEqual(frames(encoder.error('overloaded_error', 'Upstream overloaded')), [
      { event: 'error', data: { type: 'error', error: { type: 'overloaded_error', message: 'Upstream overloaded' } } },
    ]);
    assert.deepEqual(frames(anthropicIngress.streamEncoder().error('server_error', 'boom')),
      [{ event: 'error', data: { type: 'error', error: { type: 'api_error', message: 'boom' } } }]);
    assert.equal(encoder.end(undefined), '', 'nothing follows an error');
  });

  it('is a stream the Anthropic SDK assembles into the expected message', async () => {
    const final = await sdkAnswering(encode('stream-tool-calls'), 'text/event-stream')
      .messages.stream({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] })
      .finalMessage();
    assert.equal(final.id, 'msg_456');
    assert.equal(final.model, 'gpt-4.1');
    assert.equal(final.stop_reason, 'tool_use');
    assert.deepEqual(final.usage.input_tokens, 80);
    assert.deepEqual(final.usage.output_tokens, 40);
    assert.deepEqual(final.content.map((b) => b.type === 'text' ? b.text : b.type === 'tool_use' ? [b.id, b.name, b.input] : b.type), [
      'Checking.',
      ['call_abc', 'get_weather', { city: 'Paris' }],
      ['call_def', 'get_weather', { city: 'Berlin' }],
    ]);
  });

  it('surfaces an error frame through the Anthropic SDK', async () => {
    const encoder = anthropicIngress.streamEncoder();
    const [first, second] = readFixture<StreamFixture>(`${dir}/stream-text.input.json`).chunks;
    const wire = encoder.chunk(first!) + encoder.chunk(second!) + encoder.error('overloaded_error', 'Upstream overloaded');
    await assert.rejects(
      sdkAnswering(wire, 'text/event-stream').messages.stream({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: 'x' }] }).finalMessage(),
      /Upstream overloaded/,
    );
  });
});

describe('anthropic ingress: error bodies', () => {
  it('uses the Anthropic error type for each documented status', () => {
    const typeFor = (status: number, type = 'x') =>
      (anthropicIngress.errorBody(status, type, 'm') as { error: { type: string } }).error.type;
    assert.equal(typeFor(400), 'invalid_request_error');
    assert.equal(typeFor(401), 'authentication_error');
    assert.equal(typeFor(403), 'permission_error');
    assert.equal(typeFor(404), 'not_found_error');
    assert.equal(typeFor(413), 'request_too_large');
    assert.equal(typeFor(429), 'rate_limit_error');
    assert.equal(typeFor(500), 'api_error');
    assert.equal(typeFor(529), 'overloaded_error');
    assert.equal(typeFor(422), 'invalid_request_error', 'other 4xx');
    assert.equal(typeFor(502, 'server_error'), 'api_error', 'other 5xx');
  });

  it('has the documented shape', () => {
    assert.deepEqual(anthropicIngress.errorBody(429, 'rate_limit_exceeded', 'Slow down'),
      { type: 'error', error: { type: 'rate_limit_error', message: 'Slow down' } });
  });
});
