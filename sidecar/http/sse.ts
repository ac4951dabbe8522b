// Incremental Server-Sent Events parser (WHATWG framing) over a byte stream. Per chunk it scans only the
// new bytes once; a partial event is carried to the next chunk.

import type { SseEvent } from '../providers/chat.ts';

export class SseParser {
  #decoder = new TextDecoder();
  #buf = '';

  /** Feed bytes; returns the events completed by them. */
  push(bytes: Uint8Array): SseEvent[] {
    this.#buf += this.#decoder.decode(bytes, { stream: true });
    return this.#drain();
  }

  /** End of stream: returns a final event if the stream ended without a blank line. */
  end(): SseEvent[] {
    this.#buf += this.#decoder.decode();
    const events = this.#drain();
    if (this.#buf.trim()) events.push(...parseBlock(this.#buf));
    this.#buf = '';
    return events;
  }

  #drain(): SseEvent[] {
    const events: SseEvent[] = [];
    let start = 0;
    for (;;) {
      const sep = nextSeparator(this.#buf, start);
      if (sep === null) break;
      events.push(...parseBlock(this.#buf.slice(start, sep.at)));
      start = sep.at + sep.len;
    }
    if (start > 0) this.#buf = this.#buf.slice(start);
    return events;
  }
}

function nextSeparator(s: string, from: number): { at: number; len: number } | null {
  const lf = s.indexOf('\n\n', from);
  const crlf = s.indexOf('\r\n\r\n', from);
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { at: crlf, len: 4 };
  return lf === -1 ? null : { at: lf, len: 2 };
}

function parseBlock(block: string): SseEvent[] {
  let event: string | undefined;
  let data: string | undefined;
  for (const raw of block.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data = data === undefined ? value : `${data}\n${value}`;
    else if (field === 'event') event = value;
  }
  if (data === undefined) return [];
  return [event === undefined ? { data } : { event, data }];
}

/** Serialises one event the way upstream framed it. */
export function frame(ev: SseEvent): string {
  return ev.event === undefined ? `data: ${ev.data}\n\n` : `event: ${ev.event}\ndata: ${ev.data}\n\n`;
}
