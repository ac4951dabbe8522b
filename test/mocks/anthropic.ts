// Anthropic Messages wire: POST /v1/messages with x-api-key (or Authorization: Bearer) and anthropic-version, the Message JSON,
// the named-event SSE sequence (message_start, content_block_*, ping, message_delta, message_stop) and
// Anthropic's error envelope {type:'error', error:{type, message}, request_id}.

import { countWords, makeId, splitFragments } from './scenario.ts';
import type { Answer, Prompt } from './scenario.ts';
import { respond, sendJson } from './server.ts';
import type { Exchange, WireContext, WireRenderer } from './server.ts';

function errorType(status: number): string {
  switch (status) {
    case 400:
      return 'invalid_request_error';
    case 401:
      return 'authentication_error';
    case 402:
      return 'billing_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 504:
      return 'timeout_error';
    case 529:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

function defaultMessage(status: number): string {
  switch (status) {
    case 401:
      return 'invalid x-api-key';
    case 403:
      return 'Your API key does not have permission to use the specified resource.';
    case 404:
      return 'Not found';
    case 413:
      return 'Request exceeds the maximum allowed number of bytes.';
    case 429:
      return "This request would exceed your organization's rate limit. Please reduce the prompt length or the maximum tokens requested, or try again later.";
    case 529:
      return 'Overloaded';
    case 504:
      return 'Request timed out';
    default:
      return status >= 500 ? 'Internal server error' : 'Invalid request';
  }
}

export function anthropicError(status: number, message?: string, requestId = makeId('req_011C', 20)): unknown {
  return { type: 'error', error: { type: errorType(status), message: message ?? defaultMessage(status) }, request_id: requestId };
}

const CONTEXT_MAX = 200000;

function blocksText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let s = '';
  for (const b of c) {
    if (!b || typeof b !== 'object') continue;
    const block = b as { type?: unknown; text?: unknown; content?: unknown };
    let t = '';
    if (block.type === 'text' && typeof block.text === 'string') t = block.text;
    else if (block.type === 'tool_result') t = blocksText(block.content);
    if (t) s += (s ? ' ' : '') + t;
  }
  return s;
}

function stopReason(a: Answer): string {
  return a.finish === 'length' ? 'max_tokens' : a.finish === 'tool_calls' ? 'tool_use' : 'end_turn';
}

function usageJson(a: Answer): Record<string, unknown> {
  return {
    input_tokens: Math.max(0, a.usage.input - a.usage.cached),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: a.usage.cached,
    output_tokens: a.usage.output,
    service_tier: 'standard',
  };
}

function frame(event: string, data: unknown): string {
  return 'event: ' + event + '\ndata: ' + JSON.stringify(data) + '\n\n';
}

const renderer: WireRenderer = {
  headers: () => ({ 'request-id': makeId('req_011C', 20) }),
  error: (status, message) => anthropicError(status, message),
  contextWindow: (p) => ({
    status: 400,
    body: anthropicError(400, `prompt is too long: ${CONTEXT_MAX + 1 + p.inputWords} tokens > ${CONTEXT_MAX} maximum`),
  }),
  json: (a) => {
    const content: unknown[] = [];
    if (a.text !== '' || a.toolCalls.length === 0) content.push({ type: 'text', text: a.text });
    for (const c of a.toolCalls) content.push({ type: 'tool_use', id: makeId('toolu_01', 22), name: c.name, input: c.args });
    return {
      id: makeId('msg_01', 22),
      type: 'message',
      role: 'assistant',
      model: a.model,
      content,
      stop_reason: stopReason(a),
      stop_sequence: null,
      usage: usageJson(a),
    };
  },
  frames: (a) => {
    const out: string[] = [];
    const startUsage = usageJson(a);
    startUsage.output_tokens = 1;
    out.push(
      frame('message_start', {
        type: 'message_start',
        message: {
          id: makeId('msg_01', 22),
          type: 'message',
          role: 'assistant',
          model: a.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: startUsage,
        },
      }),
    );
    let index = 0;
    let pinged = false;
    const ping = (): void => {
      if (!pinged) out.push(frame('ping', { type: 'ping' }));
      pinged = true;
    };
    if (a.text !== '' || a.toolCalls.length === 0) {
      out.push(frame('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }));
      ping();
      for (const text of a.pieces) out.push(frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text } }));
      out.push(frame('content_block_stop', { type: 'content_block_stop', index }));
      index++;
    }
    for (const c of a.toolCalls) {
      out.push(
        frame('content_block_start', {
          type: 'content_block_start',
          index,
          content_block: { type: 'tool_use', id: makeId('toolu_01', 22), name: c.name, input: {} },
        }),
      );
      ping();
      for (const partial_json of ['', ...splitFragments(c.json)]) {
        out.push(frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json } }));
      }
      out.push(frame('content_block_stop', { type: 'content_block_stop', index }));
      index++;
    }
    out.push(
      frame('message_delta', {
        type: 'message_delta',
        delta: { stop_reason: stopReason(a), stop_sequence: null },
        usage: { output_tokens: a.usage.output },
      }),
    );
    out.push(frame('message_stop', { type: 'message_stop' }));
    return out;
  },
  malformedFrame: 'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tru\n\n',
  streamType: 'text/event-stream; charset=utf-8',
};

function invalid(ex: Exchange, message: string): void {
  sendJson(ex.res, 400, anthropicError(400, message));
}

export async function handleAnthropic(ex: Exchange, ctx: WireContext): Promise<void> {
  const { res } = ex;
  if (ex.path !== '/v1/messages') {
    sendJson(res, 404, anthropicError(404, 'Not Found'));
    return;
  }
  if (ex.method !== 'POST') {
    sendJson(res, 405, { type: 'error', error: { type: 'invalid_request_error', message: `Method Not Allowed` } });
    return;
  }
  // API keys come as x-api-key, or as Authorization: Bearer — which is how @anthropic-ai/sdk ≥ 1.x sends them.
  const key = ex.req.headers['x-api-key'];
  const auth = ex.req.headers.authorization;
  if (typeof key === 'string' && key !== '') {
    if (key !== ctx.apiKey) {
      sendJson(res, 401, anthropicError(401, 'invalid x-api-key'));
      return;
    }
  } else if (typeof auth === 'string' && auth.startsWith('Bearer ') && auth.length > 7) {
    if (auth.slice(7) !== ctx.apiKey) {
      sendJson(res, 401, anthropicError(401, 'Invalid bearer token'));
      return;
    }
  } else {
    sendJson(res, 401, anthropicError(401, 'x-api-key header is required'));
    return;
  }
  if (!ex.req.headers['anthropic-version']) {
    invalid(ex, 'anthropic-version: header is required');
    return;
  }
  if (ex.badJson || typeof ex.json !== 'object' || ex.json === null || Array.isArray(ex.json)) {
    invalid(ex, 'There was an issue with your request body: invalid JSON');
    return;
  }
  const body = ex.json as Record<string, unknown>;
  if (typeof body.model !== 'string' || body.model === '') {
    invalid(ex, 'model: Field required');
    return;
  }
  if (body.max_tokens === undefined) {
    invalid(ex, 'max_tokens: Field required');
    return;
  }
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
    invalid(ex, 'max_tokens: Input should be a valid integer greater than or equal to 1');
    return;
  }
  if (body.messages === undefined) {
    invalid(ex, 'messages: Field required');
    return;
  }
  if (!Array.isArray(body.messages)) {
    invalid(ex, 'messages: Input should be a valid list');
    return;
  }
  let words = countWords(blocksText(body.system));
  let last = '';
  for (let i = 0; i < body.messages.length; i++) {
    const m = body.messages[i] as { role?: unknown; content?: unknown } | null;
    const role = m && typeof m === 'object' ? m.role : undefined;
    if (role === 'system') {
      invalid(ex, 'messages: Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.');
      return;
    }
    if (role !== 'user' && role !== 'assistant') {
      invalid(ex, `messages.${i}.role: Input should be 'user' or 'assistant'`);
      return;
    }
    const t = blocksText(m?.content);
    words += countWords(t);
    if (role === 'user') last = t;
  }
  const prompt: Prompt = {
    model: body.model,
    lastUserText: last,
    inputWords: words,
    hasTools: Array.isArray(body.tools) && body.tools.length > 0,
  };
  await respond(ex, ctx.next(), body.stream === true, renderer, prompt);
}
