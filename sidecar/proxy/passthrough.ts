// Same-wire requests (OpenAI SDK → OpenAI-family provider, Anthropic SDK → Anthropic) skip the canonical
// round trip: the client's body goes upstream with only the model replaced (and usage forced on OpenAI
// streams), and the provider's answer comes back as sent. No fidelity is lost to translation.

import { mergeAnthropicUsage, toUsage } from '../providers/anthropic.ts';
import type { Usage } from '../providers/chat.ts';
import type { Target, Wire } from '../providers/types.ts';

export function passthroughBody(wire: Wire, body: Record<string, unknown>, t: Target): Record<string, unknown> {
  const out: Record<string, unknown> = { ...body, model: t.model };
  if (wire === 'openai' && body.stream) out.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
  return out;
}

/** Usage of a same-wire, non-streamed answer. */
export function nativeUsage(wire: Wire, body: unknown): Usage | undefined {
  const u = (body as { usage?: Record<string, number> } | undefined)?.usage;
  if (!u) return undefined;
  return wire === 'anthropic' ? toUsage(mergeAnthropicUsage(undefined, u)) : (u as unknown as Usage);
}
