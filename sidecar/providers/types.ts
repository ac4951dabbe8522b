// A provider is declared as data plus small pure transforms (after Portkey's gateway): where to send,
// how to authenticate, and how its wire maps to and from the canonical OpenAI shapes in chat.ts.
// Adapters never do I/O; the attempt loop in sidecar/proxy owns the network.

import type { ChatChunk, ChatRequest, ChatResponse, EmbeddingsRequest, EmbeddingsResponse, SseEvent, Usage } from './chat.ts';

export type ProviderType = 'openai' | 'azure-openai' | 'anthropic' | 'gemini' | 'openai-compatible';

/** The wire format a provider (or an ingress) speaks. */
export type Wire = 'openai' | 'anthropic' | 'gemini';

/** Everything an adapter needs to address one deployment. Built per attempt; holds the secret. */
export interface Target {
  provider: ProviderType;
  baseURL: string;
  apiKey: string;
  /** The provider-side model id (for Azure: the deployment name). */
  model: string;
  apiVersion?: string;
  /** Static extra headers from the ProviderKey (never secrets). */
  headers?: Record<string, string>;
}

/** Turns a provider's SSE events into canonical chunks. Stateful, one per stream. */
export interface StreamDecoder {
  /** One upstream event → zero or more canonical chunks. Throws on a provider `error` event. */
  push(ev: SseEvent): ChatChunk[];
  /** Usage seen so far (providers report it in different events); undefined until any is seen. */
  usage(): Usage | undefined;
  /** True once the provider signalled the end of the message (e.g. `[DONE]`, `message_stop`). */
  done(): boolean;
}

export interface ProviderAdapter {
  readonly id: ProviderType;
  readonly wire: Wire;
  /** Used when a ProviderKey has no baseURL; absent means baseURL is required. */
  readonly defaultBaseURL?: string;
  /** Full URL of the chat endpoint for this target. */
  chatURL(t: Target, stream: boolean): string;
  /** Auth and protocol headers, content-type included. */
  headers(t: Target): Record<string, string>;
  /** Canonical request → the provider's JSON body (an object; the caller serialises it). */
  toChatBody(req: ChatRequest, t: Target): Record<string, unknown>;
  /** Provider's JSON response → canonical response. */
  fromChatBody(body: unknown, t: Target): ChatResponse;
  /** A decoder for one streamed response. */
  streamDecoder(t: Target): StreamDecoder;
  /** The human message inside a provider's error body, if it has one. */
  errorMessage(body: unknown): string | undefined;
  /** Embeddings, where the provider has an endpoint for them. */
  embeddings?: {
    url(t: Target): string;
    toBody(req: EmbeddingsRequest, t: Target): Record<string, unknown>;
    fromBody(body: unknown, t: Target): EmbeddingsResponse;
  };
}
