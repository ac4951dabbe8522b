// The proxy listener (loopback only): routes the OpenAI and Anthropic endpoints to their handlers.
// Plain node:http rather than express on this path: it runs per request in every pod.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ConfigStore } from './config/store.ts';
import { readBody, parseJsonObject } from './http/body.ts';
import { ProxyError, badRequest } from './http/errors.ts';
import { anthropicIngress } from './ingress/anthropic.ts';
import { openAIIngress } from './ingress/openai.ts';
import { checkChatRequest, checkEmbeddingsRequest, checkMessagesRequest } from './ingress/schemas.ts';
import type { IngressCodec } from './ingress/types.ts';
import type { Result } from '../api/validate.ts';
import { handleChat } from './proxy/chat.ts';
import type { RequestContext, Shared } from './proxy/context.ts';
import { handleEmbeddings } from './proxy/embeddings.ts';
import { listModels } from './proxy/models.ts';
import { asProxyError, sendError, sendJson } from './proxy/respond.ts';

type Handler = (ctx: RequestContext) => Promise<void>;

function withBody(check: (b: unknown) => Result<unknown>, then: (ctx: RequestContext, body: Record<string, unknown>) => Promise<void>): Handler {
  return async (ctx) => {
    const body = parseJsonObject(await readBody(ctx.req, ctx.maxBodyBytes));
    const checked = check(body);
    if (!checked.ok) throw badRequest(`Invalid request: ${checked.errors.join('; ')}`, checked.errors[0]?.split(':')[0]);
    await then(ctx, body);
  };
}

const ROUTES: Record<string, { handler: Handler; codec: IngressCodec }> = {
  'POST /v1/chat/completions': { handler: withBody(checkChatRequest, (c, b) => handleChat(c, openAIIngress, b)), codec: openAIIngress },
  'POST /v1/messages': { handler: withBody(checkMessagesRequest, (c, b) => handleChat(c, anthropicIngress, b)), codec: anthropicIngress },
  'POST /v1/embeddings': { handler: withBody(checkEmbeddingsRequest, handleEmbeddings), codec: openAIIngress },
  'GET /v1/models': {
    handler: async (ctx) => sendJson(ctx.res, 200, listModels(ctx.config, ctx.req.headers['anthropic-version'] !== undefined)),
    codec: openAIIngress,
  },
};

function routeKey(req: IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  let path = q === -1 ? url : url.slice(0, q);
  if (!path.startsWith('/v1/')) path = `/v1${path}`; // base URLs configured without /v1
  return `${req.method} ${path}`;
}

export function createProxyServer(store: ConfigStore, shared: Shared): Server {
  const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0 }, (req: IncomingMessage, res: ServerResponse) => {
    const t0 = performance.now();
    const route = ROUTES[routeKey(req)];
    const codec = route?.codec ?? openAIIngress;
    if (!route) {
      req.resume();
      return sendError(res, codec, new ProxyError(404, 'invalid_request_error', `No route for ${req.method} ${req.url}`, { code: 'not_found' }));
    }
    const config = store.current;
    if (!config) {
      req.resume();
      return sendError(res, codec, new ProxyError(503, 'api_error', 'The sidecar has no config yet.', { code: 'not_ready' }));
    }
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) {
        abort.abort();
        shared.metrics.clientAborts.inc();
      }
    });
    shared.metrics.inFlight.inc();
    const ctx: RequestContext = { ...shared, config, req, res, signal: abort.signal, t0 };
    route.handler(ctx).catch((err: unknown) => {
      if (abort.signal.aborted) return;
      const e = asProxyError(err);
      if (e.status >= 500 && !(err instanceof ProxyError)) shared.log.error({ err }, 'request failed');
      sendError(res, codec, e);
    }).finally(() => shared.metrics.inFlight.dec());
  });
  return server;
}
