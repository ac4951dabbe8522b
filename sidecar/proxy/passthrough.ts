// Same-wire requests (OpenAI SDK → OpenAI-family provider, Anthropic SDK → Anthropic) skip the canonical
// round trip: the client's body goes upstream with only the model replaced (and usage forced on OpenAI
// streams), and the provider's answer comes back as sent. No fidelity is lost to translation.

import type { Usage } from '../providers/chat.ts';
import type { Target, Wire } from '../providers/types.ts';

export function passthroughBody(wire: Wire, body: Record<string, unknown>, t: Target): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body, model: t.model };
  if (wire === 'openai' && body.stream) out.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
  return out;
}

/** Anthropic usage fields → canonical usage; later events (message_delta) override earlier counts. */
export function anthropicUsage(u: Record<string, number | undefined>, prev?: Usage): Usage {
  const cached = u.cache_read_input_tokens ?? prev?.prompt_tokens_details?.cached_tokens ?? 0;
  const input = u.input_tokens !== undefined
    ? u.input_tokens + (u.cache_read_input_tokens ?? 0) + (u.cache_creation_input_tokens ?? 0)
    : prev?.prompt_tokens ?? 0;
  const output = u.output_tokens ?? prev?.completion_tokens ?? 0;
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output, prompt_tokens_details: { cached_tokens: cached } };
}

/** Usage of a same-wire, non-streamed answer. */
export function nativeUsage(wire: Wire, body: unknown): Usage | undefined {
  const u = (body as { usage?: Record<string, number> } | undefined)?.usage;
  if (!u) return undefined;
  return wire === 'anthropic' ? anthropicUsage(u) : (u as unknown as Usage);
}
