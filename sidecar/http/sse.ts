// Incremental Server-Sent Events parser (WHATWG framing: lines end in CRLF, LF or CR; a blank line
// dispatches). Each byte is scanned once; a partial line waits for the next chunk.

import type { SseEvent } from '../providers/chat.ts';

export class SseParser {
  #decoder = new TextDecoder();
  #buf = '';
  /** A CR ended the previous chunk: an LF starting the next one belongs to it. */
  #skipLF = false;
  #event: string | undefined;
  #data: string | undefined;

  /** Feed bytes; returns the events completed by them. */
  push(bytes: Uint8Array): SseEvent[] {
    return this.#lines(this.#decoder.decode(bytes, { stream: true }));
  }

  /** End of stream: a final event that lacked its blank line is dispatched too. */
  end(): SseEvent[] {
    const events = this.#lines(this.#decoder.decode());
    if (this.#buf !== '') { this.#line(this.#buf, events); this.#buf = ''; }
    this.#dispatch(events);
    return events;
  }

  #lines(text: string): SseEvent[] {
    const events: SseEvent[] = [];
    let s = text;
    if (this.#skipLF && s.startsWith('\n')) s = s.slice(1);
    this.#skipLF = false;
    let start = 0;
    for (;;) {
      const lf = s.indexOf('\n', start);
      const cr = s.indexOf('\r', start);
      const at = cr === -1 ? lf : lf === -1 ? cr : Math.min(cr, lf);
      if (at === -1) break;
      const line = this.#buf + s.slice(start, at);
      this.#buf = '';
      this.#line(line, events);
      if (s.charCodeAt(at) === 13 /* CR */) {
        if (at + 1 === s.length) this.#skipLF = true;
        else if (s.charCodeAt(at + 1) === 10) { start = at + 2; continue; }
      }
      start = at + 1;
    }
    this.#buf += s.slice(start);
    return events;
  }

  #line(line: string, events: SseEvent[]): void {
    if (line === '') return this.#dispatch(events);
    if (line.charCodeAt(0) === 58 /* : comment */) return;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.#data = this.#data === undefined ? value : `${this.#data}\n${value}`;
    else if (field === 'event') this.#event = value;
  }

  #dispatch(events: SseEvent[]): void {
    if (this.#data !== undefined) events.push(this.#event === undefined ? { data: this.#data } : { event: this.#event, data: this.#data });
    this.#data = undefined;
    this.#event = undefined;
  }
}

/** Serialises one event the way upstream framed it (each line of multi-line data gets its own field). */
export function frame(ev: SseEvent): string {
  const data = ev.data.includes('\n') ? ev.data.split('\n').join('\ndata: ') : ev.data;
  return ev.event === undefined ? `data: ${data}\n\n` : `event: ${ev.event}\ndata: ${data}\n\n`;
}
