// Errors the proxy answers with. Each carries the HTTP status and the OpenAI error `type`/`code`;
// the ingress codec renders it in its own wire's shape.

import type { ErrorClass } from '../../api/common.ts';

export class ProxyError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | undefined;
  readonly param: string | undefined;
  readonly errorClass: ErrorClass | undefined;
  readonly retryAfter: number | undefined;

  constructor(status: number, type: string, message: string, opts: { code?: string; param?: string; errorClass?: ErrorClass; retryAfter?: number } = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.code = opts.code;
    this.param = opts.param;
    this.errorClass = opts.errorClass;
    this.retryAfter = opts.retryAfter;
  }
}

export const badRequest = (message: string, param?: string) =>
  new ProxyError(400, 'invalid_request_error', message, { code: 'invalid_request', ...(param ? { param } : {}) });

export const modelNotFound = (model: string, known: string[]) =>
  new ProxyError(404, 'invalid_request_error',
    `The model "${model}" does not exist here. Use "auto", a policy name or a model name: ${known.join(', ')}.`,
    { code: 'model_not_found', param: 'model' });

/** The OpenAI error type for an upstream failure class, with the status we answer with. */
export const CLASS_RESPONSE: Record<ErrorClass, { status: number; type: string; code: string }> = {
  rateLimited: { status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded' },
  serverError: { status: 502, type: 'api_error', code: 'upstream_error' },
  timeout: { status: 504, type: 'api_error', code: 'upstream_timeout' },
  connection: { status: 502, type: 'api_error', code: 'upstream_connection_error' },
  contextWindowExceeded: { status: 400, type: 'invalid_request_error', code: 'context_length_exceeded' },
  contentPolicy: { status: 400, type: 'invalid_request_error', code: 'content_policy_violation' },
  auth: { status: 502, type: 'api_error', code: 'upstream_auth_error' },
  badRequest: { status: 400, type: 'invalid_request_error', code: 'upstream_bad_request' },
};
