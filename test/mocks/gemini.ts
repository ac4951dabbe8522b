// Gemini API wire (generativelanguage): POST /v1beta/models/{model}:generateContent,
// :streamGenerateContent (?alt=sse for SSE, else a JSON array), :batchEmbedContents and :embedContent;
// key via x-goog-api-key or ?key=; Google's error envelope {error:{code, message, status, details?}}.

import { countWords, hashVector, makeId } from './scenario.ts';
import type { Answer, Prompt } from './scenario.ts';
import { respond, sendJson } from './server.ts';
import type { Exchange, WireContext, WireRenderer } from './server.ts';

function statusName(code: number): string {
  switch (code) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'ABORTED';
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 499:
      return 'CANCELLED';
    case 500:
      return 'INTERNAL';
    case 501:
      return 'NOT_IMPLEMENTED';
    case 503:
      return 'UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return code >= 500 ? 'UNKNOWN' : 'FAILED_PRECONDITION';
  }
}

function defaultMessage(code: number): string {
  switch (code) {
    case 429:
      return 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.';
    case 500:
      return 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting';
    case 503:
      return 'The model is overloaded. Please try again later.';
    case 504:
      return 'The request timed out. Please try again.';
    case 404:
      return 'Requested entity was not found.';
    case 403:
      return 'The caller does not have permission';
    default:
      return code >= 500 ? 'An internal error has occurred.' : 'Request contains an invalid argument.';
  }
}

export function geminiError(code: number, message?: string, details?: unknown[]): unknown {
  const error: Record<string, unknown> = { code, message: message ?? defaultMessage(code), status: statusName(code) };
  if (details) error.details = details;
  return { error };
}

const CONTEXT_MAX = 1048576;

function partsText(content: unknown): string {
  if (!content || typeof content !== 'object') return '';
  const parts = (content as { parts?: unknown }).parts;
  if (!Array.isArray(parts)) return '';
  let s = '';
  for (const p of parts) {
    if (p && typeof p === 'object' && typeof (p as { text?: unknown }).text === 'string') s += (s ? ' ' : '') + (p as { text: string }).text;
  }
  return s;
}

function finishReason(a: Answer): string {
  return a.finish === 'length' ? 'MAX_TOKENS' : 'STOP';
}

function usageJson(a: Answer, final: boolean): Record<string, unknown> {
  const u: Record<string, unknown> = { promptTokenCount: a.usage.input };
  if (final) u.candidatesTokenCount = a.usage.output;
  u.totalTokenCount = a.usage.input + (final ? a.usage.output : 0);
  // Google omits zero-valued fields: cachedContentTokenCount appears only when something was cached.
  if (a.usage.cached > 0) u.cachedContentTokenCount = a.usage.cached;
  u.promptTokensDetails = [{ modality: 'TEXT', tokenCount: a.usage.input }];
  return u;
}

/** The response chunks of a stream; the last carries finishReason and the full usage. */
function chunks(a: Answer): Record<string, unknown>[] {
  const responseId = makeId('', 22);
  const groups: Record<string, unknown>[][] = a.pieces.map((text) => [{ text }]);
  if (a.toolCalls.length > 0) groups.push(a.toolCalls.map((c) => ({ functionCall: { name: c.name, args: c.args } })));
  if (groups.length === 0) groups.push([{ text: '' }]);
  return groups.map((parts, i) => {
    const last = i === groups.length - 1;
    const cand: Record<string, unknown> = { content: { parts, role: 'model' } };
    if (last) cand.finishReason = finishReason(a);
    cand.index = 0;
    return { candidates: [cand], usageMetadata: usageJson(a, last), modelVersion: a.model, responseId };
  });
}

function renderer(asArray: boolean): WireRenderer {
  return {
    headers: () => ({}),
    error: (status, message, retryAfter) =>
      geminiError(
        status,
        message,
        retryAfter !== undefined ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfter}s` }] : undefined,
      ),
    contextWindow: (p) => ({
      status: 400,
      body: geminiError(400, `The input token count (${CONTEXT_MAX + 1 + p.inputWords}) exceeds the maximum number of tokens allowed (${CONTEXT_MAX}).`),
    }),
    json: (a) => {
      if (asArray) return chunks(a); // streamGenerateContent without alt=sse: one JSON array of chunks
      const parts: unknown[] = [];
      if (a.text !== '' || a.toolCalls.length === 0) parts.push({ text: a.text });
      for (const c of a.toolCalls) parts.push({ functionCall: { name: c.name, args: c.args } });
      return {
        candidates: [{ content: { parts, role: 'model' }, finishReason: finishReason(a), index: 0 }],
        usageMetadata: usageJson(a, true),
        modelVersion: a.model,
        responseId: makeId('', 22),
      };
    },
    frames: (a) => chunks(a).map((c) => 'data: ' + JSON.stringify(c) + '\r\n\r\n'),
    malformedFrame: 'data: {"candidates": [{"content": {"parts": [{"text": "tru\r\n\r\n',
    streamType: 'text/event-stream',
  };
}

const JSON_RENDERER = renderer(false); // generateContent: plain JSON (json() gives the single response)
const ARRAY_RENDERER = renderer(true); // streamGenerateContent without alt=sse

const ROUTE = /^\/(v1beta|v1|v1alpha)\/models\/([^/:]+):([A-Za-z]+)$/;

export async function handleGemini(ex: Exchange, ctx: WireContext): Promise<void> {
  const { res } = ex;
  const m = ROUTE.exec(ex.path);
  if (!m) {
    sendJson(res, 404, geminiError(404, `Method not found.`));
    return;
  }
  if (ex.method !== 'POST') {
    sendJson(res, 405, geminiError(405, 'Method Not Allowed'));
    return;
  }
  const model = decodeURIComponent(m[2] as string);
  const op = m[3] as string;
  const hk = ex.req.headers['x-goog-api-key'];
  const key = (typeof hk === 'string' && hk !== '' ? hk : undefined) ?? ex.query.get('key') ?? '';
  if (key === '') {
    sendJson(
      res,
      403,
      geminiError(
        403,
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
      ),
    );
    return;
  }
  if (key !== ctx.apiKey) {
    sendJson(
      res,
      400,
      geminiError(400, 'API key not valid. Please pass a valid API key.', [
        {
          '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
          reason: 'API_KEY_INVALID',
          domain: 'googleapis.com',
          metadata: { service: 'generativelanguage.googleapis.com' },
        },
      ]),
    );
    return;
  }
  if (ex.badJson || typeof ex.json !== 'object' || ex.json === null || Array.isArray(ex.json)) {
    sendJson(res, 400, geminiError(400, 'Invalid JSON payload received. Unexpected token.'));
    return;
  }
  const body = ex.json as Record<string, unknown>;

  if (op === 'batchEmbedContents' || op === 'embedContent') {
    embed(ex, body, op === 'batchEmbedContents');
    return;
  }
  if (op !== 'generateContent' && op !== 'streamGenerateContent') {
    sendJson(res, 404, geminiError(404, `models/${model} is not found for API version ${m[1]}, or is not supported for ${op}.`));
    return;
  }
  const contents = body.contents;
  if (!Array.isArray(contents) || contents.length === 0) {
    sendJson(res, 400, geminiError(400, '* GenerateContentRequest.contents: contents is not specified\n'));
    return;
  }
  let words = countWords(partsText(body.systemInstruction));
  let last = '';
  for (const c of contents) {
    const role = c && typeof c === 'object' ? (c as { role?: unknown }).role : undefined;
    if (role !== undefined && role !== 'user' && role !== 'model') {
      sendJson(res, 400, geminiError(400, 'Please use a valid role: user, model.'));
      return;
    }
    const t = partsText(c);
    words += countWords(t);
    if (role !== 'model') last = t;
  }
  const prompt: Prompt = { model, lastUserText: last, inputWords: words, hasTools: Array.isArray(body.tools) && body.tools.length > 0 };
  if (op === 'generateContent') {
    await respond(ex, ctx.next(), false, JSON_RENDERER, prompt);
    return;
  }
  const sse = ex.query.get('alt') === 'sse';
  await respond(ex, ctx.next(), sse, sse ? JSON_RENDERER : ARRAY_RENDERER, prompt);
}

function embed(ex: Exchange, body: Record<string, unknown>, batch: boolean): void {
  const reqs: unknown[] = batch ? (Array.isArray(body.requests) ? body.requests : []) : [body];
  if (reqs.length === 0) {
    sendJson(ex.res, 400, geminiError(400, '* BatchEmbedContentsRequest.requests: requests is not specified\n'));
    return;
  }
  const out: { values: number[] }[] = [];
  for (const r of reqs) {
    const rr = (r && typeof r === 'object' ? r : {}) as { content?: unknown; outputDimensionality?: unknown };
    if (!rr.content || typeof rr.content !== 'object') {
      sendJson(ex.res, 400, geminiError(400, '* EmbedContentRequest.content: content is not specified\n'));
      return;
    }
    const dims = typeof rr.outputDimensionality === 'number' && rr.outputDimensionality > 0 ? Math.floor(rr.outputDimensionality) : 8;
    out.push({ values: hashVector(partsText(rr.content), dims) });
  }
  sendJson(ex.res, 200, batch ? { embeddings: out } : { embedding: out[0] });
}
