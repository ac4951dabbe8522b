// OpenAI (and Azure OpenAI) wire: /v1/chat/completions, /v1/embeddings and the Azure deployment paths
// /openai/deployments/{deployment}/chat/completions|embeddings?api-version=…, with OpenAI's response,
// chunk and error shapes.

import { countWords, hashVector, makeId, splitFragments, vectorToBase64 } from './scenario.ts';
import type { Answer, Prompt } from './scenario.ts';
import { respond, sendJson } from './server.ts';
import type { Exchange, WireContext, WireRenderer } from './server.ts';

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

function oaiError(message: string, type: string, param: string | null = null, code: string | null = null): ErrorBody {
  return { error: { message, type, param, code } };
}

const MISSING_KEY =
  "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.";
const WRONG_KEY = 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.';
const BAD_JSON =
  "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)";
const AZURE_DENIED =
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.';

/** OpenAI's error body for an arbitrary status. */
export function openaiErrorFor(status: number, message?: string): ErrorBody {
  switch (status) {
    case 400:
      return oaiError(message ?? 'Invalid request.', 'invalid_request_error');
    case 401:
      return oaiError(message ?? WRONG_KEY, 'invalid_request_error', null, 'invalid_api_key');
    case 403:
      return oaiError(message ?? 'You are not allowed to sample from this model', 'invalid_request_error', null, 'unsupported_country_region_territory');
    case 404:
      return oaiError(message ?? 'The model does not exist or you do not have access to it.', 'invalid_request_error', null, 'model_not_found');
    case 429:
      return oaiError(
        message ?? 'Rate limit reached for requests per min (RPM). Please try again in 1s. Visit https://platform.openai.com/account/rate-limits to learn more.',
        'requests',
        null,
        'rate_limit_exceeded',
      );
    default:
      if (status >= 500) {
        return oaiError(
          message ??
            (status === 503
              ? 'The engine is currently overloaded, please try again later.'
              : 'The server had an error while processing your request. Sorry about that!'),
          'server_error',
        );
      }
      return oaiError(message ?? `Request failed with status ${status}.`, 'invalid_request_error');
  }
}

const CONTEXT_MAX = 128000;

function contentText(c: unknown): string {
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return '';
  let s = '';
  for (const part of c) {
    if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
      s += (s ? ' ' : '') + (part as { text: string }).text;
    }
  }
  return s;
}

function promptOf(body: Record<string, unknown>, model: string): Prompt {
  const messages = body.messages as unknown[];
  let words = 0;
  let last = '';
  for (const m of messages) {
    if (!m || typeof m !== 'object') continue;
    const t = contentText((m as { content?: unknown }).content);
    words += countWords(t);
    if ((m as { role?: unknown }).role === 'user') last = t;
  }
  return { model, lastUserText: last, inputWords: words, hasTools: Array.isArray(body.tools) && body.tools.length > 0 };
}

function usageJson(a: Answer): Record<string, unknown> {
  return {
    prompt_tokens: a.usage.input,
    completion_tokens: a.usage.output,
    total_tokens: a.usage.input + a.usage.output,
    prompt_tokens_details: { cached_tokens: a.usage.cached, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const FINGERPRINT = 'fp_mock0001';
const NO_FILTER = {
  hate: { filtered: false, severity: 'safe' },
  self_harm: { filtered: false, severity: 'safe' },
  sexual: { filtered: false, severity: 'safe' },
  violence: { filtered: false, severity: 'safe' },
};

function renderer(azure: boolean, includeUsage: boolean): WireRenderer {
  return {
    headers: () => ({ 'x-request-id': makeId('req_', 24) }),
    error: (status, message) => openaiErrorFor(status, message),
    contextWindow: (p) => ({
      status: 400,
      body: oaiError(
        `This model's maximum context length is ${CONTEXT_MAX} tokens. However, your messages resulted in ${CONTEXT_MAX + 1 + p.inputWords} tokens. Please reduce the length of the messages.`,
        'invalid_request_error',
        'messages',
        'context_length_exceeded',
      ),
    }),
    json: (a) => {
      const toolCalls = a.toolCalls.map((c) => ({ id: makeId('call_', 24), type: 'function', function: { name: c.name, arguments: c.json } }));
      const message: Record<string, unknown> = {
        role: 'assistant',
        content: toolCalls.length > 0 && a.text === '' ? null : a.text,
        refusal: null,
        annotations: [],
      };
      if (toolCalls.length > 0) message.tool_calls = toolCalls;
      const choice: Record<string, unknown> = { index: 0, message, logprobs: null, finish_reason: a.finish };
      const body: Record<string, unknown> = {
        id: makeId('chatcmpl-', 29),
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: a.model,
        choices: [choice],
        usage: usageJson(a),
        service_tier: 'default',
        system_fingerprint: FINGERPRINT,
      };
      if (azure) {
        choice.content_filter_results = NO_FILTER;
        body.prompt_filter_results = [{ prompt_index: 0, content_filter_results: NO_FILTER }];
      }
      return body;
    },
    frames: (a) => {
      const id = makeId('chatcmpl-', 29);
      const created = Math.floor(Date.now() / 1000);
      const out: string[] = [];
      const chunk = (delta: Record<string, unknown>, finish: string | null): void => {
        const c: Record<string, unknown> = {
          id,
          object: 'chat.completion.chunk',
          created,
          model: a.model,
          service_tier: 'default',
          system_fingerprint: FINGERPRINT,
          choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
        };
        if (includeUsage) c.usage = null;
        out.push('data: ' + JSON.stringify(c) + '\n\n');
      };
      if (azure) {
        // Azure opens every stream with an empty-choices chunk carrying the prompt filter results.
        out.push(
          'data: ' +
            JSON.stringify({ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: NO_FILTER }] }) +
            '\n\n',
        );
      }
      const withTools = a.toolCalls.length > 0;
      chunk(withTools && a.pieces.length === 0 ? { role: 'assistant', content: null } : { role: 'assistant', content: '', refusal: null }, null);
      for (const piece of a.pieces) chunk({ content: piece }, null);
      a.toolCalls.forEach((c, index) => {
        chunk({ tool_calls: [{ index, id: makeId('call_', 24), type: 'function', function: { name: c.name, arguments: '' } }] }, null);
        for (const frag of splitFragments(c.json)) chunk({ tool_calls: [{ index, function: { arguments: frag } }] }, null);
      });
      chunk({}, a.finish);
      if (includeUsage) {
        out.push(
          'data: ' +
            JSON.stringify({
              id,
              object: 'chat.completion.chunk',
              created,
              model: a.model,
              service_tier: 'default',
              system_fingerprint: FINGERPRINT,
              choices: [],
              usage: usageJson(a),
            }) +
            '\n\n',
        );
      }
      out.push('data: [DONE]\n\n');
      return out;
    },
    malformedFrame: 'data: {"id":"chatcmpl-broken","choices":[{"delta":{"content":"tru\n\n',
    streamType: 'text/event-stream; charset=utf-8',
  };
}

const AZURE_PATH = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|embeddings)$/;

export async function handleOpenAI(ex: Exchange, ctx: WireContext): Promise<void> {
  const { res } = ex;
  let azure = false;
  let deployment = '';
  let op: 'chat' | 'embeddings';
  if (ex.path === '/v1/chat/completions') op = 'chat';
  else if (ex.path === '/v1/embeddings') op = 'embeddings';
  else {
    const m = AZURE_PATH.exec(ex.path);
    if (!m) {
      sendJson(res, 404, oaiError(`Invalid URL (${ex.method} ${ex.path})`, 'invalid_request_error'));
      return;
    }
    azure = true;
    deployment = decodeURIComponent(m[1] as string);
    op = m[2] === 'embeddings' ? 'embeddings' : 'chat';
  }
  if (ex.method !== 'POST') {
    sendJson(res, 405, oaiError(`Invalid method for URL (${ex.method} ${ex.path})`, 'invalid_request_error'));
    return;
  }

  if (azure) {
    if (!ex.query.get('api-version')) {
      sendJson(res, 404, { error: { code: '404', message: 'Resource not found' } });
      return;
    }
    const key = ex.req.headers['api-key'];
    const auth = ex.req.headers.authorization;
    if (key !== ctx.apiKey && auth !== 'Bearer ' + ctx.apiKey) {
      sendJson(res, 401, { error: { code: '401', message: AZURE_DENIED } });
      return;
    }
  } else {
    const auth = ex.req.headers.authorization;
    if (auth === undefined || auth === '' || !auth.startsWith('Bearer ') || auth.length <= 7) {
      sendJson(res, 401, oaiError(MISSING_KEY, 'invalid_request_error', null, 'invalid_api_key'));
      return;
    }
    if (auth.slice(7) !== ctx.apiKey) {
      sendJson(res, 401, oaiError(WRONG_KEY, 'invalid_request_error', null, 'invalid_api_key'));
      return;
    }
  }

  if (ex.badJson || (ex.json !== undefined && (typeof ex.json !== 'object' || ex.json === null || Array.isArray(ex.json)))) {
    sendJson(res, 400, oaiError(BAD_JSON, 'invalid_request_error'));
    return;
  }
  const body = (ex.json ?? {}) as Record<string, unknown>;
  const model = azure ? deployment : body.model;
  if (typeof model !== 'string' || model === '') {
    sendJson(res, 400, oaiError('you must provide a model parameter', 'invalid_request_error'));
    return;
  }

  if (op === 'embeddings') {
    embeddings(ex, body, model);
    return;
  }

  if (body.messages === undefined) {
    sendJson(res, 400, oaiError("Missing required parameter: 'messages'.", 'invalid_request_error', 'messages', 'missing_required_parameter'));
    return;
  }
  if (!Array.isArray(body.messages)) {
    sendJson(res, 400, oaiError(`Invalid type for 'messages': expected an array, but got ${typeof body.messages} instead.`, 'invalid_request_error', 'messages', 'invalid_type'));
    return;
  }
  if (body.messages.length === 0) {
    sendJson(
      res,
      400,
      oaiError("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'invalid_request_error', 'messages', 'empty_array'),
    );
    return;
  }
  const stream = body.stream === true;
  const so = body.stream_options as { include_usage?: unknown } | null | undefined;
  const includeUsage = stream && !!so && so.include_usage === true;
  await respond(ex, ctx.next(), stream, renderer(azure, includeUsage), promptOf(body, model));
}

function embeddings(ex: Exchange, body: Record<string, unknown>, model: string): void {
  const input = body.input;
  if (input === undefined) {
    sendJson(ex.res, 400, oaiError("Missing required parameter: 'input'.", 'invalid_request_error', 'input', 'missing_required_parameter'));
    return;
  }
  let items: string[];
  if (typeof input === 'string') items = [input];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'string')) items = input as string[];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => typeof x === 'number')) items = [input.join(' ')];
  else if (Array.isArray(input) && input.length > 0 && input.every((x) => Array.isArray(x))) items = (input as unknown[][]).map((x) => x.join(' '));
  else {
    sendJson(ex.res, 400, oaiError("'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.", 'invalid_request_error'));
    return;
  }
  const dims = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.floor(body.dimensions) : 8;
  const base64 = body.encoding_format === 'base64';
  let words = 0;
  const data = items.map((text, index) => {
    words += countWords(text);
    const v = hashVector(text, dims);
    return { object: 'embedding', index, embedding: base64 ? vectorToBase64(v) : v };
  });
  sendJson(ex.res, 200, { object: 'list', data, model, usage: { prompt_tokens: words, total_tokens: words } }, { 'x-request-id': makeId('req_', 24) });
}
