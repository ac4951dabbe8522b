// Classifies an upstream failure into the classes that retries and fallbacks act on.
// Status codes decide most; message wording separates context-window and content-policy 400s,
// which every provider reports differently.

import type { ErrorClass } from '../../api/common.ts';

const CONTEXT_WINDOW = /context[_ ]length|context window|maximum context|prompt is too long|too many tokens|exceeds the maximum number of tokens|input token count.*exceeds|reduce the length/i;
const CONTENT_POLICY = /content[_ ](policy|filter|management)|safety system|responsibleaipolicyviolation|flagged|prohibited/i;

export function classifyStatus(status: number, message: string, code?: string): ErrorClass {
  if (status === 429) return 'rateLimited';
  if (status === 408 || status === 504) return 'timeout';
  if (status >= 500) return 'serverError';
  if (status === 401 || status === 403) return 'auth';
  const text = `${code ?? ''} ${message}`;
  if (CONTEXT_WINDOW.test(text)) return 'contextWindowExceeded';
  if (CONTENT_POLICY.test(text)) return 'contentPolicy';
  return 'badRequest';
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/** A network-level error (no HTTP status) → timeout or connection. */
export function classifyNetworkError(err: unknown): ErrorClass {
  const e = err as { code?: string; cause?: { code?: string } } | null | undefined;
  const code = e?.code ?? e?.cause?.code;
  return code && TIMEOUT_CODES.has(code) ? 'timeout' : 'connection';
}

export const RETRYABLE: ReadonlySet<ErrorClass> = new Set(['rateLimited', 'serverError', 'timeout', 'connection']);

/** Failures that say something about the deployment's health. A client's bad request must not cool a
 * deployment down for everyone else. */
export const HEALTH_FAILURES: ReadonlySet<ErrorClass> = new Set([...RETRYABLE, 'auth']);

/** Retry-After as seconds: delta-seconds or an IMF-fixdate (RFC 9110); anything else is ignored. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!v) return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  if (!/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return undefined;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}
