// One upstream HTTP exchange, with failures turned into classified, credential-free UpstreamErrors.

import type { Dispatcher } from 'undici';
import type { CompiledDeployment } from '../config/compile.ts';
import { CLASS_RESPONSE, ProxyError } from '../http/errors.ts';
import { redact } from '../http/redact.ts';
import { classifyNetworkError, classifyStatus, parseRetryAfter } from '../resilience/errorClass.ts';
import { UpstreamError } from './attempts.ts';
import { post, type Timeouts } from './upstream.ts';

const who = (d: CompiledDeployment) => `${d.target.provider} (${d.target.model})`;

/** POSTs body; resolves with a response whose status is < 400, else throws UpstreamError. */
export async function callUpstream(signal: AbortSignal, d: CompiledDeployment, url: string, body: unknown, timeouts: Timeouts): Promise<Dispatcher.ResponseData> {
  let res: Dispatcher.ResponseData;
  try {
    res = await post(url, d.adapter.headers(d.target), JSON.stringify(body), timeouts, signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new UpstreamError(classifyNetworkError(err), `${who(d)}: ${redact((err as Error).message, d.target.apiKey)}`);
  }
  if (res.statusCode < 400) return res;
  const text = await res.body.text().catch(() => '');
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { parsed = undefined; }
  const msg = redact(d.adapter.errorMessage(parsed) ?? text.slice(0, 300), d.target.apiKey);
  const err = (parsed as { error?: { code?: unknown; type?: unknown; status?: unknown } } | undefined)?.error;
  const code = String(err?.code ?? err?.type ?? err?.status ?? '');
  throw new UpstreamError(classifyStatus(res.statusCode, msg, code), `${who(d)} answered ${res.statusCode}: ${msg}`,
    { status: res.statusCode, ...optional('retryAfter', parseRetryAfter(res.headers['retry-after'])) });
}

/** Reads and parses a JSON body; an interrupted or non-JSON body is a retryable failure. */
export async function readUpstreamJson(res: Dispatcher.ResponseData, d: CompiledDeployment): Promise<{ text: string; json: unknown }> {
  let text: string;
  try {
    text = await res.body.text();
  } catch (err) {
    throw new UpstreamError(classifyNetworkError(err), `${who(d)}: body interrupted: ${(err as Error).message}`);
  }
  try {
    return { text, json: JSON.parse(text) };
  } catch {
    throw new UpstreamError('serverError', `${who(d)} sent a body that is not JSON`);
  }
}

export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/** The attempt loop's final failure → what the client is told. */
export function toClientError(err: unknown): unknown {
  if (!(err instanceof UpstreamError)) return err;
  const mapped = CLASS_RESPONSE[err.errorClass];
  // A 4xx that is the request's fault keeps the provider's status; anything else is the gateway's.
  const status = err.status !== undefined && err.status >= 400 && err.status < 500 && err.status !== 401 && err.status !== 403 && err.status !== 429
    ? err.status : mapped.status;
  return new ProxyError(status, mapped.type, err.message, { code: mapped.code, errorClass: err.errorClass, ...optional('retryAfter', err.retryAfter) });
}
