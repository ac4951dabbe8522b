// sidecar/http/sse.ts: the incremental SSE parser and the frame serialiser.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import type { SseEvent } from '../../sidecar/providers/chat.ts';
import { frame, SseParser } from '../../sidecar/http/sse.ts';

const enc = new TextEncoder();

function parseChunks(chunks: (string | Uint8Array)[]): SseEvent[] {
  const p = new SseParser();
  const out: SseEvent[] = [];
  for (const c of chunks) out.push(...p.push(typeof c === 'string' ? enc.encode(c) : c));
  out.push(...p.end());
  return out;
}
const parse = (text: string) => parseChunks([text]);

describe('SseParser: framing', () => {
  it('data-only events (OpenAI, Gemini)', () => {
    assert.deepEqual(parse('data: {"a":1}\n\ndata: [DONE]\n\n'), [{ data: '{"a":1}' }, { data: '[DONE]' }]);
  });

  it('named events (Anthropic)', () => {
    assert.deepEqual(parse('event: message_start\ndata: {"type":"message_start"}\n\nevent: ping\ndata: {}\n\n'),
      [{ event: 'message_start', data: '{"type":"message_start"}' }, { event: 'ping', data: '{}' }]);
  });

  it('several data lines join with \\n', () => {
    assert.deepEqual(parse('data: one\ndata: two\ndata:\ndata: four\n\n'), [{ data: 'one\ntwo\n\nfour' }]);
  });

  it('strips exactly one leading space from a value, and none when there is none', () => {
    assert.deepEqual(parse('data:x\n\ndata:  two spaces\n\nevent:e\ndata:y\n\n'), [{ data: 'x' }, { data: ' two spaces' }, { event: 'e', data: 'y' }]);
  });

  it('a field name without a colon has an empty value', () => {
    assert.deepEqual(parse('data\n\n'), [{ data: '' }]);
  });

  it('ignores comments, id, retry and unknown fields; an event without data is not dispatched', () => {
    assert.deepEqual(parse(': keep-alive\n\nid: 7\nretry: 1000\nfoo: bar\n\nevent: lonely\n\n: c\ndata: d\n\n'), [{ data: 'd' }]);
  });

  it('the colon splits at the first colon only', () => {
    assert.deepEqual(parse('data: a: b: c\n\n'), [{ data: 'a: b: c' }]);
  });

  it('the last event name in a block wins', () => {
    assert.deepEqual(parse('event: a\nevent: b\ndata: x\n\n'), [{ event: 'b', data: 'x' }]);
  });

  it('CRLF line endings', () => {
    assert.deepEqual(parse('event: e\r\ndata: 1\r\n\r\ndata: 2\r\ndata: 3\r\n\r\n'), [{ event: 'e', data: '1' }, { data: '2\n3' }]);
  });

  it('a CRLF line followed by an LF blank line ends the event', () => {
    assert.deepEqual(parse('data: a\r\n\ndata: b\n\n'), [{ data: 'a' }, { data: 'b' }]);
  });

  // WHATWG: lines end in CRLF, LF or a lone CR, in any mix. Only the LF and CRLF pairs are recognised as
  // blank lines here, so a lone CR (or an LF line then a CRLF blank line) runs two events together.
  it('WHATWG line terminators: lone CR, and an LF line followed by a CRLF blank line', () => {
    assert.deepEqual(parse('data: a\r\rdata: b\r\r'), [{ data: 'a' }, { data: 'b' }]);
    assert.deepEqual(parse('data: a\n\r\ndata: b\n\n'), [{ data: 'a' }, { data: 'b' }]);
  });

  it('a UTF-8 BOM at the start of the stream is dropped', () => {
    assert.deepEqual(parseChunks([new Uint8Array([0xef, 0xbb, 0xbf]), 'data: x\n\n']), [{ data: 'x' }]);
  });

  it('push returns only the events completed by that chunk; a partial event waits', () => {
    const p = new SseParser();
    assert.deepEqual(p.push(enc.encode('data: a\n\ndata: b')), [{ data: 'a' }]);
    assert.deepEqual(p.push(enc.encode('c\n')), []);
    assert.deepEqual(p.push(enc.encode('\ndata: d\n\n')), [{ data: 'bc' }, { data: 'd' }]);
    assert.deepEqual(p.end(), []);
  });

  it('end() dispatches a trailing event that lacks the blank line (lenient), and nothing for whitespace', () => {
    const p = new SseParser();
    p.push(enc.encode('data: tail'));
    assert.deepEqual(p.end(), [{ data: 'tail' }]);
    const q = new SseParser();
    q.push(enc.encode('data: x\n\n\n'));
    assert.deepEqual(q.end(), []);
  });

  it('a multi-byte character split across chunks is decoded whole', () => {
    const bytes = enc.encode('data: 😀é\n\n');
    const chunks = [...bytes].map((b) => new Uint8Array([b]));
    assert.deepEqual(parseChunks(chunks), [{ data: '😀é' }]);
  });

  it('a truncated multi-byte character at the very end becomes U+FFFD, not an exception', () => {
    const bytes = enc.encode('data: €');
    assert.deepEqual(parseChunks([bytes.subarray(0, bytes.length - 1)]), [{ data: '\uFFFD' }]);
  });
});

// -------------------------------------------------------------------------------------------- properties

const char = fc.oneof(
  fc.constantFrom('é', '€', '😀', '中', '𝄞', ':', ' ', '\t', '"', '{', '}', '\u2028', '\uFEFF'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
).filter((c) => c !== '\r' && c !== '\n');
const line = fc.string({ unit: char, maxLength: 12 });

interface GenEvent { event?: string; data: string[]; comment: boolean; id: boolean }
const genEvent: fc.Arbitrary<GenEvent> = fc.record({
  event: fc.option(line, { nil: undefined }),
  data: fc.array(line, { maxLength: 3 }),
  comment: fc.boolean(),
  id: fc.boolean(),
});

function serialise(events: GenEvent[], eol: string, bom: boolean): string {
  let s = bom ? '\uFEFF' : '';
  for (const e of events) {
    if (e.comment) s += `: comment${eol}`;
    if (e.event !== undefined) s += `event: ${e.event}${eol}`;
    if (e.id) s += `id: 42${eol}`;
    for (const d of e.data) s += `data: ${d}${eol}`;
    s += eol;
  }
  return s;
}

function expectedEvents(events: GenEvent[]): SseEvent[] {
  return events.filter((e) => e.data.length > 0).map((e) => (e.event === undefined ? { data: e.data.join('\n') } : { event: e.event, data: e.data.join('\n') }));
}

/** Splits bytes at the given (sorted, deduplicated) cut points. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let at = 0;
  for (const p of points) { out.push(bytes.subarray(at, p)); at = p; }
  out.push(bytes.subarray(at));
  return out;
}

describe('SseParser: properties', () => {
  const stream = fc.record({ events: fc.array(genEvent, { maxLength: 6 }), eol: fc.constantFrom('\n', '\r\n'), bom: fc.boolean() });

  it('property: parses any LF or CRLF stream to the events it encodes', () => {
    fc.assert(fc.property(stream, ({ events, eol, bom }) => {
      assert.deepEqual(parse(serialise(events, eol, bom)), expectedEvents(events));
    }), { numRuns: 1000 });
  });

  it('property: any split of the byte stream into chunks (inside UTF-8 characters and CRLF too) yields the same events', () => {
    fc.assert(fc.property(stream, fc.array(fc.nat(), { maxLength: 20 }), ({ events, eol, bom }, cuts) => {
      const bytes = enc.encode(serialise(events, eol, bom));
      assert.deepEqual(parseChunks(split(bytes, cuts)), parseChunks([bytes]));
    }), { numRuns: 1000 });
  });

  it('property: byte-at-a-time feeding yields the same events', () => {
    fc.assert(fc.property(stream, ({ events, eol, bom }) => {
      const bytes = enc.encode(serialise(events, eol, bom));
      assert.deepEqual(parseChunks([...bytes].map((b) => new Uint8Array([b]))), expectedEvents(events));
    }), { numRuns: 300 });
  });
});

describe('frame', () => {
  it('serialises data-only and named events', () => {
    assert.equal(frame({ data: '{"a":1}' }), 'data: {"a":1}\n\n');
    assert.equal(frame({ event: 'ping', data: '{}' }), 'event: ping\ndata: {}\n\n');
  });

  it('property: parsing a frame of a single-line event gives the event back', () => {
    const ev = fc.record({ event: fc.option(line, { nil: undefined }), data: line });
    fc.assert(fc.property(ev, (e) => {
      const expected: SseEvent = e.event === undefined ? { data: e.data } : { event: e.event, data: e.data };
      assert.deepEqual(parse(frame(expected)), [expected]);
    }), { numRuns: 500 });
  });

  // The parser produces multi-line data when upstream sends several `data:` lines; passthrough pipes re-frame
  // such events with frame(), which must write one `data:` line per line or the client loses all but the first.
  it('a multi-line data event survives frame → parse', () => {
    const ev = parse('data: {"a":\ndata: 1}\n\n')[0]!;
    assert.deepEqual(ev, { data: '{"a":\n1}' });
    assert.deepEqual(parse(frame(ev)), [ev]);
  });
});
