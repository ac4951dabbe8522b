// Writing answers: JSON bodies, errors in the ingress's shape, and the x-triage-* headers.

import type { ServerResponse } from 'node:http';
import type { IngressCodec } from '../ingress/types.ts';
import { ProxyError } from '../http/errors.ts';

export function sendJson(res: ServerResponse, status: number, body: string | unknown, headers: Record<string, string> = {}): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, codec: Pick<IngressCodec, 'errorBody'>, err: ProxyError, headers: Record<string, string> = {}): void {
  if (res.headersSent) return void res.end();
  const extra: Record<string, string> = { ...headers };
  if (err.retryAfter !== undefined) extra['retry-after'] = String(Math.ceil(err.retryAfter));
  sendJson(res, err.status, codec.errorBody(err.status, err.type, err.message, err.code, err.param), extra);
}

/** Any thrown value → a ProxyError safe to show (no stack, no internals). */
export function asProxyError(err: unknown): ProxyError {
  if (err instanceof ProxyError) return err;
  return new ProxyError(500, 'api_error', 'The sidecar failed to handle the request; see its logs.', { code: 'internal_error' });
}
