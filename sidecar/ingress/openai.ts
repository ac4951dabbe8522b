// The OpenAI wire is canonical, so this codec is mostly identity; its stream encoder owns the
// `include_usage` contract: usage is always requested upstream, and shown to the client only if asked.

import type { ChatChunk, ChatRequest, ChatResponse, Usage } from '../providers/chat.ts';
import type { IngressCodec, StreamEncoder } from './types.ts';

export function openAIStreamEncoder(opts: { includeUsage: boolean } = { includeUsage: false }): StreamEncoder {
  let last: Pick<ChatChunk, 'id' | 'created' | 'model'> | undefined;
  return {
    chunk(c) {
      last = c;
      return `data: ${JSON.stringify(c)}\n\n`;
    },
    end(usage: Usage | undefined) {
      const tail = opts.includeUsage && usage && last
        ? `data: ${JSON.stringify({ id: last.id, object: 'chat.completion.chunk', created: last.created, model: last.model, choices: [], usage })}\n\n`
        : '';
      return `${tail}data: [DONE]\n\n`;
    },
    error(type, message) {
      return `data: ${JSON.stringify({ error: { message, type, param: null, code: null } })}\n\n`;
    },
  };
}

export const openAIIngress: IngressCodec & { streamEncoder(opts?: { includeUsage: boolean }): StreamEncoder } = {
  wire: 'openai',
  toCanonical: (body) => body as ChatRequest,
  fromCanonical: (res: ChatResponse) => res,
  streamEncoder: openAIStreamEncoder,
  errorBody: (_status, type, message, code, param) => ({ error: { message, type, param: param ?? null, code: code ?? null } }),
};
