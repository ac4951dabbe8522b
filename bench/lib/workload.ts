// The request every benchmark sends: a chat completion with a 1 KiB user prompt.

export const API_KEY = 'test-key';
export const PROMPT_BYTES = 1024;

const WORDS = ['route', 'the', 'cheap', 'model', 'when', 'a', 'prompt', 'is', 'easy', 'and', 'the', 'strong', 'one', 'otherwise', 'keeping', 'latency', 'low'];

/** Deterministic ASCII text of exactly `bytes` bytes. */
export function promptText(bytes = PROMPT_BYTES): string {
  let s = '';
  for (let i = 0; s.length < bytes; i++) s += (s ? ' ' : '') + WORDS[i % WORDS.length];
  return s.slice(0, bytes);
}

export function chatBody(model: string, stream: boolean): string {
  const body: Record<string, unknown> = { model, messages: [{ role: 'user', content: promptText() }], max_tokens: 64 };
  if (stream) body.stream = true;
  return JSON.stringify(body);
}

export const HEADERS: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };
