// A stream pipe turns upstream SSE events into the frames the client reads. Two kinds:
// - translate: provider decoder → canonical chunks → ingress encoder (wires differ);
// - passthrough: same wire both sides; events are forwarded as framed, and only the events that
//   carry usage are parsed, so the per-chunk cost is a string check and a copy.

import type { SseEvent, Usage } from '../providers/chat.ts';
import type { StreamDecoder } from '../providers/types.ts';
import type { StreamEncoder } from '../ingress/types.ts';
import { frame } from '../http/sse.ts';
import { mergeAnthropicUsage, toUsage, type AnthropicUsage } from '../providers/anthropic.ts';

export interface StreamPipe {
  push(ev: SseEvent): string;
  /** Frames that close the stream well-formed. */
  finish(): string;
  /** Frames that end the stream with an error, after bytes were sent. */
  fail(type: string, message: string): string;
  usage(): Usage | undefined;
  done(): boolean;
}

export function translatePipe(decoder: StreamDecoder, encoder: StreamEncoder): StreamPipe {
  return {
    push: (ev) => {
      let out = '';
      for (const c of decoder.push(ev)) out += encoder.chunk(c);
      return out;
    },
    finish: () => encoder.end(decoder.usage()),
    fail: (type, message) => encoder.error(type, message),
    usage: () => decoder.usage(),
    done: () => decoder.done(),
  };
}

/** A cheap framing check instead of a parse: catches truncated and garbage events before the client does. */
function assertObjectFramed(data: string): void {
  if (data.charCodeAt(0) !== 123 || data.charCodeAt(data.length - 1) !== 125) throw new SyntaxError('malformed stream event');
}

const ERROR_CHUNK = /^\s*\{\s*"error"/;

function hasUsageObject(data: string): boolean {
  const at = data.lastIndexOf('"usage"');
  if (at === -1) return false;
  for (let i = at + 7; i < data.length; i++) {
    const c = data[i];
    if (c === '{') return true;
    if (c !== ':' && c !== ' ') return false;
  }
  return false;
}

/** OpenAI → OpenAI. Usage was forced on upstream; its chunk reaches the client only if it asked. */
export function openAIPassthroughPipe(encoder: StreamEncoder, clientWantsUsage: boolean): StreamPipe {
  let usage: Usage | undefined;
  let done = false;
  return {
    push(ev) {
      if (ev.data === '[DONE]') { done = true; return ''; }
      assertObjectFramed(ev.data);
      // Chunks carry `"usage":null` until the last one; only a chunk with a usage object is parsed.
      if (hasUsageObject(ev.data)) {
        const chunk = JSON.parse(ev.data) as { usage: Usage; choices?: unknown[] };
        usage = chunk.usage;
        if (!chunk.choices || chunk.choices.length === 0) return clientWantsUsage ? frame(ev) : '';
      } else if (ev.data.includes('"choices":[]')) {
        return ''; // Azure's leading prompt-filter chunk: no choices, and a blank model name
      } else if (ERROR_CHUNK.test(ev.data)) {
        const { error } = JSON.parse(ev.data) as { error: { message?: string } };
        throw Object.assign(new Error(error.message ?? 'upstream stream error'), { providerError: error });
      }
      return frame(ev);
    },
    finish: () => 'data: [DONE]\n\n',
    fail: (type, message) => encoder.error(type, message),
    usage: () => usage,
    done: () => done,
  };
}

/** Anthropic → Anthropic. Only message_start and message_delta are parsed, for usage. */
export function anthropicPassthroughPipe(encoder: StreamEncoder): StreamPipe {
  let counters: AnthropicUsage | undefined;
  let done = false;
  return {
    push(ev) {
      assertObjectFramed(ev.data);
      switch (ev.event) {
        case 'message_start':
          counters = mergeAnthropicUsage(counters, (JSON.parse(ev.data) as { message: { usage?: AnthropicUsage } }).message.usage);
          break;
        case 'message_delta':
          counters = mergeAnthropicUsage(counters, (JSON.parse(ev.data) as { usage?: AnthropicUsage }).usage);
          break;
        case 'message_stop':
          done = true;
          break;
        case 'error': {
          const { error } = JSON.parse(ev.data) as { error: { type?: string; message?: string } };
          throw Object.assign(new Error(error.message ?? 'upstream stream error'), { providerErrorType: error.type });
        }
      }
      return frame(ev);
    },
    finish: () => '',
    fail: (type, message) => encoder.error(type, message),
    usage: () => (counters ? toUsage(counters) : undefined),
    done: () => done,
  };
}
