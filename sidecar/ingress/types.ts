// An ingress codec maps one client-facing wire (OpenAI or Anthropic) to and from the canonical shapes.
// Pure and stateless except for the stream encoder, which is created per response.

import type { ChatChunk, ChatRequest, ChatResponse, Usage } from '../providers/chat.ts';
import type { Wire } from '../providers/types.ts';

export interface StreamEncoder {
  /** One canonical chunk → zero or more SSE frames, ready to write (`event: …\ndata: …\n\n`). */
  chunk(c: ChatChunk): string;
  /** Frames that close a well-formed stream (e.g. `data: [DONE]`, `message_stop`). */
  end(usage: Usage | undefined): string;
  /** Frames that end the stream with an error after bytes were already sent. */
  error(type: string, message: string): string;
}

export interface IngressCodec {
  readonly wire: Exclude<Wire, 'gemini'>;
  /** A validated native request body → canonical request. */
  toCanonical(body: Record<string, unknown>): ChatRequest;
  /** Canonical response → native response body. */
  fromCanonical(res: ChatResponse): unknown;
  streamEncoder(): StreamEncoder;
  /** The wire's error body. `type` is the OpenAI error type (e.g. invalid_request_error); `param` names the field at fault. */
  errorBody(status: number, type: string, message: string, code?: string, param?: string): unknown;
}
