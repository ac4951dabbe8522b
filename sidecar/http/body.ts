// Reads a request body with a byte limit, without buffering past it.

import type { IncomingMessage } from 'node:http';
import { ProxyError, badRequest } from './errors.ts';

export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) throw tooLarge(limit);
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    parts.push(chunk);
  }
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

export function parseJsonObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) throw badRequest('The request body is empty; expected a JSON object.');
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(`The request body is not valid JSON: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badRequest('The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

const tooLarge = (limit: number) =>
  new ProxyError(413, 'invalid_request_error', `The request body exceeds the sidecar's limit of ${limit} bytes.`, { code: 'request_too_large' });
