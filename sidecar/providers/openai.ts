// The OpenAI wire family: OpenAI itself, Azure OpenAI and any OpenAI-compatible server (vLLM, Ollama,
// Groq, Together, Mistral, DeepSeek, …). They share the body transforms and differ only in URL and auth.

import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse, SseEvent, Usage } from './chat.ts';
import type { ProviderAdapter, StreamDecoder, Target } from './types.ts';

const AZURE_DEFAULT_API_VERSION = '2024-10-21';

/** Canonical is OpenAI, so the body is the request with the deployment's model and usage forced on streams. */
export function openAIChatBody(req: ChatRequest, t: Target): Record<string, unknown> {
  const body: Record<string, unknown> = { ...req, model: t.model };
  if (req.stream) body.stream_options = { ...req.stream_options, include_usage: true };
  return body;
}

export function openAIStreamDecoder(): StreamDecoder {
  let usage: Usage | undefined;
  let done = false;
  return {
    push(ev: SseEvent): ChatChunk[] {
      if (ev.data === '[DONE]') { done = true; return []; }
      const chunk = JSON.parse(ev.data) as ChatChunk & { error?: { message?: string } };
      if (chunk.error) throw Object.assign(new Error(chunk.error.message ?? 'upstream stream error'), { providerError: chunk.error });
      if (chunk.usage) usage = chunk.usage;
      // Usage-only and Azure's prompt-filter chunks carry no choices; the ingress re-emits usage itself.
      if (!chunk.choices || chunk.choices.length === 0) return [];
      if (chunk.usage === null) delete chunk.usage;
      return [chunk];
    },
    usage: () => usage,
    done: () => done,
  };
}

export const openAIErrorMessage = (body: unknown): string | undefined =>
  (body as { error?: { message?: string } } | undefined)?.error?.message;

const trimSlash = (u: string) => u.replace(/\/+$/, '');

function family(id: 'openai' | 'openai-compatible', defaultBaseURL?: string): ProviderAdapter {
  return {
    id,
    wire: 'openai',
    ...(defaultBaseURL ? { defaultBaseURL } : {}),
    chatURL: (t) => `${trimSlash(t.baseURL)}/chat/completions`,
    headers: (t) => ({
      'content-type': 'application/json',
      ...(t.apiKey ? { authorization: `Bearer ${t.apiKey}` } : {}),
      ...t.headers,
    }),
    toChatBody: openAIChatBody,
    fromChatBody: (body) => body as ChatResponse,
    streamDecoder: openAIStreamDecoder,
    errorMessage: openAIErrorMessage,
    embeddings: {
      url: (t) => `${trimSlash(t.baseURL)}/embeddings`,
      toBody: (req: EmbeddingsRequest, t) => ({ ...req, model: t.model }),
      fromBody: (body) => body as EmbeddingsResponse,
    },
  };
}

export const openai = family('openai', 'https://api.openai.com/v1');
export const openaiCompatible = family('openai-compatible');

const azurePath = (t: Target, op: string) =>
  `${trimSlash(t.baseURL)}/openai/deployments/${encodeURIComponent(t.model)}/${op}?api-version=${encodeURIComponent(t.apiVersion ?? AZURE_DEFAULT_API_VERSION)}`;

export const azureOpenAI: ProviderAdapter = {
  ...openai,
  id: 'azure-openai',
  defaultBaseURL: undefined,
  chatURL: (t) => azurePath(t, 'chat/completions'),
  headers: (t) => ({ 'content-type': 'application/json', 'api-key': t.apiKey, ...t.headers }),
  embeddings: { ...openai.embeddings!, url: (t) => azurePath(t, 'embeddings') },
};
