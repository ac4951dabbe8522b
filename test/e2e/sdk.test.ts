// The official SDKs call the sidecar, which calls mock providers speaking each real wire. Assertions are on
// what the SDKs parse and on what the mocks received.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { KEYS, startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
before(async () => { s = await startStack(); });
after(async () => { await s.close(); });
beforeEach(() => s.resetMocks());

const TARGETS = [
  { model: 'strong', mock: 'openai', upstream: 'gpt-4o', provider: 'openai' },
  { model: 'weak', mock: 'anthropic', upstream: 'claude-3-5-haiku-latest', provider: 'anthropic' },
  { model: 'flash', mock: 'gemini', upstream: 'gemini-2.0-flash', provider: 'gemini' },
  { model: 'azure-4o', mock: 'azure', upstream: 'my-gpt4o-deployment', provider: 'azure-openai' },
] as const;

const WEATHER_TOOL = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('OpenAI SDK → sidecar', () => {
  for (const t of TARGETS) {
    test(`non-streaming to ${t.provider}: content, model, usage and x-triage headers`, async () => {
      const { data, response } = await s.openai.chat.completions.create({
        model: t.model, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello there friend' }],
      }).withResponse();
      assert.equal(data.choices[0]!.message.content, 'echo: hello there friend');
      assert.equal(data.choices[0]!.finish_reason, 'stop');
      assert.equal(data.model, t.upstream);
      assert.deepEqual([data.usage!.prompt_tokens, data.usage!.completion_tokens], [5, 4]);
      assert.equal(response.headers.get('x-triage-model'), t.model);
      assert.equal(response.headers.get('x-triage-provider'), t.provider);
      assert.equal(response.headers.get('x-triage-upstream-model'), t.upstream);
      assert.equal(response.headers.get('x-triage-route'), 'fixed');
      assert.ok(Number(response.headers.get('x-triage-overhead-ms')) >= 0);
      assert.equal(s.mocks[t.mock].requests.length, 1);
    });

    test(`streaming from ${t.provider}: every chunk names the model, usage only when asked`, async () => {
      for (const includeUsage of [false, true]) {
        s.mocks[t.mock].enqueue({ kind: 'ok', text: 'one two three four', chunks: 4 });
        const stream = await s.openai.chat.completions.create({
          model: t.model, messages: [{ role: 'user', content: 'count' }], stream: true,
          ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
        });
        let text = '';
        let usage;
        let finish;
        let chunks = 0;
        for await (const c of stream) {
          chunks++;
          assert.equal(c.model, t.upstream);
          text += c.choices[0]?.delta.content ?? '';
          finish = c.choices[0]?.finish_reason ?? finish;
          if (c.usage) usage = c.usage;
        }
        assert.equal(text, 'one two three four');
        assert.equal(finish, 'stop');
        assert.ok(chunks >= 4);
        if (includeUsage) assert.deepEqual([usage!.prompt_tokens, usage!.completion_tokens], [1, 4]);
        else assert.equal(usage, undefined);
      }
    });

    test(`tool calls round trip through ${t.provider}`, async () => {
      s.mocks[t.mock].enqueue({ kind: 'ok', toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
      const first = await s.openai.chat.completions.create({
        model: t.model, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'weather in Paris?' }],
      });
      const call = first.choices[0]!.message.tool_calls![0]!;
      assert.equal(first.choices[0]!.finish_reason, 'tool_calls');
      assert.equal(call.type, 'function');
      assert.equal(call.type === 'function' && call.function.name, 'get_weather');
      assert.deepEqual(call.type === 'function' && JSON.parse(call.function.arguments), { city: 'Paris' });

      const second = await s.openai.chat.completions.create({
        model: t.model, tools: [WEATHER_TOOL],
        messages: [
          { role: 'user', content: 'weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: '{"temp": 21}' },
        ],
      });
      assert.match(second.choices[0]!.message.content ?? '', /^echo: /);
      const sent = s.mocks[t.mock].requests.at(-1)!.body as Record<string, any>;
      if (t.provider === 'anthropic') {
        const last = sent.messages.at(-1);
        assert.equal(last.role, 'user');
        assert.equal(last.content[0].type, 'tool_result');
        assert.equal(last.content[0].tool_use_id, call.id);
        assert.equal(sent.tools[0].name, 'get_weather');
        assert.deepEqual(sent.tools[0].input_schema, WEATHER_TOOL.function.parameters);
      } else if (t.provider === 'gemini') {
        const parts = sent.contents.flatMap((c: any) => c.parts);
        assert.ok(parts.some((p: any) => p.functionCall?.name === 'get_weather'));
        assert.ok(parts.some((p: any) => p.functionResponse?.name === 'get_weather'));
        assert.equal(sent.tools[0].functionDeclarations[0].name, 'get_weather');
      } else {
        assert.equal(sent.messages.at(-1).tool_call_id, call.id);
      }
    });

    test(`streamed tool calls from ${t.provider} parse in the SDK`, async () => {
      s.mocks[t.mock].enqueue({ kind: 'ok', toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] });
      const stream = s.openai.chat.completions.stream({ model: t.model, tools: [WEATHER_TOOL], messages: [{ role: 'user', content: 'weather?' }], stream: true });
      const final = await stream.finalChatCompletion();
      const call = final.choices[0]!.message.tool_calls![0]!;
      assert.equal(call.type === 'function' && call.function.name, 'get_weather');
      assert.deepEqual(call.type === 'function' && JSON.parse(call.function.arguments), { city: 'Oslo' });
    });
  }

  test('JSON mode and response_format reach each provider in its own form', async () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    await s.openai.chat.completions.create({ model: 'strong', response_format: { type: 'json_object' }, messages: [{ role: 'user', content: 'json please' }] });
    assert.deepEqual((s.mocks.openai.requests[0]!.body as any).response_format, { type: 'json_object' });
    await s.openai.chat.completions.create({ model: 'flash', response_format: { type: 'json_schema', json_schema: { name: 'a', schema } }, messages: [{ role: 'user', content: 'json please' }] });
    const g = (s.mocks.gemini.requests[0]!.body as any).generationConfig;
    assert.equal(g.responseMimeType, 'application/json');
    assert.equal(g.responseSchema.properties.answer.type, 'STRING'); // Gemini's Schema.type enum
    s.mocks.anthropic.enqueue({ kind: 'ok', toolCalls: [{ name: 'json_response', arguments: { answer: 'yes' } }] });
    const r = await s.openai.chat.completions.create({ model: 'weak', response_format: { type: 'json_schema', json_schema: { name: 'a', schema } }, messages: [{ role: 'user', content: 'json please' }] });
    const a = s.mocks.anthropic.requests[0]!.body as any;
    assert.equal(a.tool_choice.type, 'tool');
    assert.deepEqual(JSON.parse(r.choices[0]!.message.content!), { answer: 'yes' });
  });

  test('multi-part content with images passes to each provider', async () => {
    const png = 'data:image/png;base64,iVBORw0KGgo=';
    const messages = [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'what is this' }, { type: 'image_url' as const, image_url: { url: png } }] }];
    for (const model of ['strong', 'weak', 'flash']) await s.openai.chat.completions.create({ model, messages });
    assert.deepEqual((s.mocks.openai.requests[0]!.body as any).messages[0].content[1], { type: 'image_url', image_url: { url: png } });
    const block = (s.mocks.anthropic.requests[0]!.body as any).messages[0].content.find((b: any) => b.type === 'image');
    assert.deepEqual(block.source, { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' });
    const part = (s.mocks.gemini.requests[0]!.body as any).contents[0].parts.find((p: any) => p.inlineData);
    assert.deepEqual(part.inlineData, { mimeType: 'image/png', data: 'iVBORw0KGgo=' });
  });

  test('n, stop, user and temperature pass through; n > 1 on Anthropic is a clear 400', async () => {
    await s.openai.chat.completions.create({ model: 'strong', n: 2, stop: ['END'], user: 'u-1', temperature: 0.2, messages: [{ role: 'user', content: 'x' }] });
    const sent = s.mocks.openai.requests[0]!.body as any;
    assert.deepEqual([sent.n, sent.stop, sent.user, sent.temperature], [2, ['END'], 'u-1', 0.2]);
    await s.openai.chat.completions.create({ model: 'weak', stop: ['END'], user: 'u-1', messages: [{ role: 'user', content: 'x' }] });
    const a = s.mocks.anthropic.requests[0]!.body as any;
    assert.deepEqual([a.stop_sequences, a.metadata.user_id], [['END'], 'u-1']);
    await assert.rejects(
      s.openai.chat.completions.create({ model: 'weak', n: 2, messages: [{ role: 'user', content: 'x' }] }),
      (e: any) => e.status === 400 && /n/.test(e.message),
    );
  });

  test('embeddings through OpenAI and Gemini', async () => {
    const a = await s.openai.embeddings.create({ model: 'embed', input: ['alpha', 'beta'], dimensions: 4 });
    assert.equal(a.data.length, 2);
    assert.equal(a.data[0]!.embedding.length, 4);
    const g = await s.openai.embeddings.create({ model: 'gemini-embed', input: ['alpha'], encoding_format: 'float' });
    assert.equal(g.data.length, 1);
    assert.ok(g.data[0]!.embedding.length > 0);
    assert.equal(s.mocks.gemini.requests[0]!.path, '/v1beta/models/text-embedding-004:batchEmbedContents');
  });

  test('models lists auto, the policies and the model targets', async () => {
    const ids = [];
    for await (const m of s.openai.models.list()) ids.push(m.id);
    assert.deepEqual(ids.slice(0, 4), ['auto', 'default', 'strong', 'weak']);
  });

  test('"auto", a policy name and "policy/model" all resolve', async () => {
    for (const model of ['auto', 'default', 'default/flash']) {
      const { response } = await s.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] }).withResponse();
      assert.equal(response.headers.get('x-triage-policy'), 'default');
      assert.equal(response.headers.get('x-triage-model'), model === 'default/flash' ? 'flash' : 'strong');
    }
  });

  test('each provider receives its own auth header with the configured key', async () => {
    for (const model of ['strong', 'weak', 'flash', 'azure-4o']) await s.openai.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }] });
    assert.equal(s.mocks.openai.requests[0]!.headers.authorization, `Bearer ${KEYS.openai}`);
    assert.equal(s.mocks.anthropic.requests[0]!.headers['x-api-key'], KEYS.anthropic);
    assert.equal(s.mocks.gemini.requests[0]!.headers['x-goog-api-key'], KEYS.gemini);
    assert.equal(s.mocks.azure.requests[0]!.headers['api-key'], KEYS.azure);
    assert.equal(s.mocks.azure.requests[0]!.path, '/openai/deployments/my-gpt4o-deployment/chat/completions');
    assert.equal(s.mocks.azure.requests[0]!.query['api-version'], '2024-10-21');
  });
});

describe('Anthropic SDK → sidecar (/v1/messages)', () => {
  for (const t of TARGETS.slice(0, 3)) {
    test(`non-streaming to ${t.provider}`, async () => {
      const msg = await s.anthropic.messages.create({ model: t.model, max_tokens: 100, system: 'be brief', messages: [{ role: 'user', content: 'hello there' }] });
      assert.equal(msg.type, 'message');
      assert.equal(msg.role, 'assistant');
      assert.equal(msg.model, t.upstream);
      assert.deepEqual(msg.content, [{ type: 'text', text: 'echo: hello there', ...(msg.content[0] as any).citations !== undefined ? { citations: (msg.content[0] as any).citations } : {} }]);
      assert.equal(msg.stop_reason, 'end_turn');
      assert.deepEqual([msg.usage.input_tokens, msg.usage.output_tokens], [4, 3]);
    });

    test(`streaming from ${t.provider}`, async () => {
      s.mocks[t.mock].enqueue({ kind: 'ok', text: 'alpha beta gamma', chunks: 3 });
      const stream = s.anthropic.messages.stream({ model: t.model, max_tokens: 100, messages: [{ role: 'user', content: 'go' }] });
      let text = '';
      stream.on('text', (d) => { text += d; });
      const final = await stream.finalMessage();
      assert.equal(text, 'alpha beta gamma');
      assert.equal(final.model, t.upstream);
      assert.equal(final.stop_reason, 'end_turn');
      assert.equal(final.usage.output_tokens, 3);
    });

    test(`tool use through ${t.provider}`, async () => {
      s.mocks[t.mock].enqueue({ kind: 'ok', toolCalls: [{ name: 'get_weather', arguments: { city: 'Rome' } }] });
      const msg = await s.anthropic.messages.create({
        model: t.model, max_tokens: 100, messages: [{ role: 'user', content: 'weather?' }],
        tools: [{ name: 'get_weather', description: 'Weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }],
      });
      assert.equal(msg.stop_reason, 'tool_use');
      const use = msg.content.find((b) => b.type === 'tool_use');
      assert.ok(use && use.type === 'tool_use');
      assert.equal(use.name, 'get_weather');
      assert.deepEqual(use.input, { city: 'Rome' });
    });
  }

  test('errors are Anthropic-shaped on /v1/messages', async () => {
    await assert.rejects(
      s.anthropic.messages.create({ model: 'no-such-model', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
      (e: any) => e.status === 404 && e.error?.type === 'error' && e.error?.error?.type === 'not_found_error',
    );
  });
});
