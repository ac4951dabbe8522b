import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';

import { gemini, toGeminiSchema } from '../../../sidecar/providers/gemini.ts';
import type { ChatChunk, ChatRequest, EmbeddingsRequest } from '../../../sidecar/providers/chat.ts';
import type { Target } from '../../../sidecar/providers/types.ts';
import { assertGolden, readFixture } from '../golden.ts';

const dir = 'providers/gemini';
const target: Target = { provider: 'gemini', baseURL: 'https://generativelanguage.googleapis.com', apiKey: 'AIza-test', model: 'gemini-2.5-flash' };

interface FixtureEvent { event?: string; data: unknown }

function decode(name: string): { chunks: ChatChunk[]; usage: unknown; done: boolean } {
  const decoder = gemini.streamDecoder(target);
  const chunks: ChatChunk[] = [];
  for (const ev of readFixture<FixtureEvent[]>(`${dir}/${name}.input.json`)) {
    chunks.push(...decoder.push({ data: JSON.stringify(ev.data) }));
  }
  return { chunks, usage: decoder.usage(), done: decoder.done() };
}

function request(overrides: Partial<ChatRequest>): ChatRequest {
  return { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'hi' }], ...overrides };
}

before(() => mock.timers.enable({ apis: ['Date'], now: 1_750_000_000_000 }));
after(() => mock.timers.reset());

describe('gemini adapter: addressing', () => {
  it('uses generateContent, or streamGenerateContent with alt=sse when streaming', () => {
    assert.equal(gemini.chatURL(target, false),
      'https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent');
    assert.equal(gemini.chatURL({ ...target, baseURL: 'http://mock:9090/', model: 'models/gemini-2.5-pro' }, true),
      'http://mock:9090/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse');
  });

  it('authenticates with x-goog-api-key, which extra headers cannot replace', () => {
    assert.deepEqual(gemini.headers({ ...target, headers: { 'x-goog-api-key': 'wrong', 'x-goog-user-project': 'p' } }), {
      'content-type': 'application/json',
      'x-goog-user-project': 'p',
      'x-goog-api-key': 'AIza-test',
    });
  });

  it('reads the message out of a Google error body', () => {
    const body = { error: { code: 400, message: 'API key not valid.', status: 'INVALID_ARGUMENT' } };
    assert.equal(gemini.errorMessage(body), 'API key not valid.');
    assert.equal(gemini.errorMessage([{ error: 'x' }]), undefined);
  });
});

describe('gemini adapter: request', () => {
  for (const name of ['request-system-multiturn', 'request-images', 'request-tools', 'request-json-schema', 'request-json-object']) {
    it(`${name} matches its golden`, () => {
      const req = readFixture<ChatRequest>(`${dir}/${name}.input.json`);
      assertGolden(`${dir}/${name}.expected.json`, gemini.toChatBody(req, target));
    });
  }

  it('maps each tool_choice form to a functionCallingConfig', () => {
    const tools = [{ type: 'function' as const, function: { name: 'f' } }];
    const configFor = (tool_choice: ChatRequest['tool_choice']) => gemini.toChatBody(request({ tools, tool_choice }), target).toolConfig;
    assert.deepEqual(configFor('auto'), { functionCallingConfig: { mode: 'AUTO' } });
    assert.deepEqual(configFor('none'), { functionCallingConfig: { mode: 'NONE' } });
    assert.deepEqual(configFor('required'), { functionCallingConfig: { mode: 'ANY' } });
    assert.deepEqual(configFor({ type: 'function', function: { name: 'f' } }),
      { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['f'] } });
    assert.equal(configFor(undefined), undefined);
  });

  it('omits generationConfig when nothing sets it', () => {
    assert.deepEqual(gemini.toChatBody(request({}), target), { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
  });

  it('refuses a tool result whose call it cannot name', () => {
    const messages: ChatRequest['messages'] = [
      { role: 'user', content: 'hi' },
      { role: 'tool', tool_call_id: 'call_unknown', content: 'x' },
    ];
    assert.throws(() => gemini.toChatBody(request({ messages }), target), /call_unknown/);
  });

  it('stops inlining a recursive $ref at a bounded depth', () => {
    const tree = { $defs: { Node: { type: 'object', properties: { child: { $ref: '#/$defs/Node' } } } }, $ref: '#/$defs/Node' };
    let depth = 0;
    for (let node: unknown = toGeminiSchema(tree); node && typeof node === 'object' && 'properties' in node; depth++) {
      node = (node as { properties: { child: unknown } }).properties.child;
    }
    assert.equal(depth, 8);
  });
});

describe('gemini adapter: response', () => {
  for (const name of ['response-text', 'response-tool-calls', 'response-multi-candidate', 'response-blocked-prompt']) {
    it(`${name} matches its golden`, () => {
      const body = readFixture(`${dir}/${name}.input.json`);
      assertGolden(`${dir}/${name}.expected.json`, gemini.fromChatBody(body, target));
    });
  }

  it('maps finish reasons', () => {
    const finishFor = (finishReason: string) => gemini.fromChatBody(
      { candidates: [{ content: { parts: [{ text: 'x' }] }, finishReason }] }, target,
    ).choices[0]?.finish_reason;
    assert.equal(finishFor('STOP'), 'stop');
    assert.equal(finishFor('MAX_TOKENS'), 'length');
    for (const reason of ['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII']) assert.equal(finishFor(reason), 'content_filter');
    assert.equal(finishFor('OTHER'), 'stop');
  });
});

describe('gemini adapter: stream', () => {
  for (const name of ['stream-text', 'stream-tool-calls']) {
    it(`${name} decodes to its golden chunks`, () => {
      assertGolden(`${dir}/${name}.expected.json`, decode(name));
    });
  }

  it('is not done until a candidate reports a finishReason', () => {
    const decoder = gemini.streamDecoder(target);
    const [first] = readFixture<FixtureEvent[]>(`${dir}/stream-text.input.json`);
    decoder.push({ data: JSON.stringify(first!.data) });
    assert.equal(decoder.done(), false);
    assert.equal(decoder.usage(), undefined, 'usageMetadata without counts is not usage');
  });

  it('throws the provider message, typed in the shared error vocabulary, on an error event', () => {
    const decoder = gemini.streamDecoder(target);
    const [first, error] = readFixture<FixtureEvent[]>(`${dir}/stream-error.input.json`);
    assert.equal(decoder.push({ data: JSON.stringify(first!.data) }).length, 1);
    assert.throws(
      () => decoder.push({ data: JSON.stringify(error!.data) }),
      (err: Error & { providerErrorType?: string; providerStatus?: string }) =>
        err.message === 'The model is overloaded. Please try again later.'
        && err.providerErrorType === 'overloaded_error' && err.providerStatus === 'UNAVAILABLE',
    );
  });

  it('types quota errors as rate limits and unknown statuses as request errors', () => {
    const typeOf = (status: string) => {
      try {
        gemini.streamDecoder(target).push({ data: JSON.stringify({ error: { code: 400, message: 'm', status } }) });
      } catch (err) {
        return (err as { providerErrorType?: string }).providerErrorType;
      }
      return undefined;
    };
    assert.equal(typeOf('RESOURCE_EXHAUSTED'), 'rate_limit_error');
    assert.equal(typeOf('INTERNAL'), 'api_error');
    assert.equal(typeOf('INVALID_ARGUMENT'), 'invalid_request_error');
  });
});

describe('gemini adapter: embeddings', () => {
  const embeddings = gemini.embeddings!;
  const embedTarget: Target = { ...target, model: 'text-embedding-004' };

  it('posts to batchEmbedContents', () => {
    assert.equal(embeddings.url(embedTarget),
      'https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents');
  });

  it('request and response match their goldens', () => {
    const req = readFixture<EmbeddingsRequest>(`${dir}/embeddings-request.input.json`);
    assertGolden(`${dir}/embeddings-request.expected.json`, embeddings.toBody(req, embedTarget));
    const body = readFixture(`${dir}/embeddings-response.input.json`);
    assertGolden(`${dir}/embeddings-response.expected.json`, embeddings.fromBody(body, embedTarget));
  });

  it('wraps a single string input and rejects token arrays', () => {
    assert.deepEqual(embeddings.toBody({ model: 'm', input: 'one' }, embedTarget), {
      requests: [{ model: 'models/text-embedding-004', content: { parts: [{ text: 'one' }] } }],
    });
    assert.throws(() => embeddings.toBody({ model: 'm', input: [1, 2, 3] }, embedTarget), /text input only/);
  });
});
