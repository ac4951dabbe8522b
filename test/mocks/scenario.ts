// Scenario types shared by every mock wire, and the wire-agnostic "answer" a mock computes before it
// renders it in OpenAI, Anthropic or Gemini shape. Everything here is deterministic: the same request
// and scenario always give the same text, usage and vectors (ids aside).

import type { IncomingHttpHeaders } from 'node:http';

export type MockWire = 'openai' | 'anthropic' | 'gemini';

export interface MockToolCall {
  name: string;
  arguments: Record<string, unknown>;
}

export interface OkScenario {
  kind: 'ok';
  text?: string;
  toolCalls?: MockToolCall[];
  /** input = all prompt tokens (cached included, as OpenAI and Gemini count them); cached ⊆ input. */
  usage?: { input: number; output: number; cached?: number };
  finish?: 'stop' | 'length';
  model?: string;
  /** Wait this long before sending any byte. */
  delayMs?: number;
  /** Wait this long between stream events. */
  chunkDelayMs?: number;
  /** How many content pieces a stream splits the text into (default 3, never more than its characters). */
  chunks?: number;
}

export type Scenario =
  | OkScenario
  | { kind: 'error'; status: number; retryAfter?: number; message?: string; delayMs?: number }
  | { kind: 'contextWindow' }
  | { kind: 'reset'; afterChunks?: number }
  | { kind: 'malformed'; afterChunks?: number }
  | { kind: 'hang'; afterChunks?: number };

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, or the raw text when the body was not JSON ('' when empty). */
  body: unknown;
  /** Date.now() when the request arrived. */
  at: number;
}

/** What a wire extracted from a chat request, enough to compute the answer. */
export interface Prompt {
  /** Requested model (Azure: the deployment; Gemini: the model in the path). */
  model: string;
  lastUserText: string;
  /** Whitespace-separated words across every message text, system included. */
  inputWords: number;
  hasTools: boolean;
}

export interface AnswerToolCall {
  name: string;
  args: Record<string, unknown>;
  /** JSON.stringify(args), the form OpenAI and Anthropic stream in fragments. */
  json: string;
}

/** The wire-agnostic answer that each wire renders. */
export interface Answer {
  model: string;
  text: string;
  /** The text split for streaming (joined they equal `text`). */
  pieces: string[];
  toolCalls: AnswerToolCall[];
  finish: 'stop' | 'length' | 'tool_calls';
  usage: { input: number; output: number; cached: number };
}

export const OK: OkScenario = Object.freeze({ kind: 'ok' }) as OkScenario;

const WORD = /\S+/g;

export function countWords(s: string): number {
  if (s.length === 0) return 0;
  const m = s.match(WORD);
  return m === null ? 0 : m.length;
}

/** Splits text into at most n non-empty pieces of near-equal length (fewer when the text is shorter). */
export function splitPieces(text: string, n: number): string[] {
  const len = text.length;
  if (len === 0) return [];
  const k = Math.max(1, Math.min(Math.floor(n), len));
  if (k === 1) return [text];
  const out: string[] = [];
  for (let i = 0; i < k; i++) out.push(text.slice(Math.floor((i * len) / k), Math.floor(((i + 1) * len) / k)));
  return out;
}

/** Splits a string into exactly 2 fragments when it has at least 2 characters (tool-call argument streaming). */
export function splitFragments(s: string): string[] {
  return s.length < 2 ? [s] : splitPieces(s, 2);
}

export function buildAnswer(p: Prompt, s: OkScenario): Answer {
  const calls: AnswerToolCall[] = [];
  if (p.hasTools && s.toolCalls && s.toolCalls.length > 0) {
    for (const c of s.toolCalls) calls.push({ name: c.name, args: c.arguments, json: JSON.stringify(c.arguments) });
  }
  const text = s.text ?? (calls.length > 0 ? '' : 'echo: ' + p.lastUserText.slice(0, 200));
  let output = countWords(text);
  for (const c of calls) output += countWords(c.name) + countWords(c.json);
  const usage = s.usage
    ? { input: s.usage.input, output: s.usage.output, cached: s.usage.cached ?? 0 }
    : { input: p.inputWords, output, cached: 0 };
  return {
    model: s.model ?? p.model,
    text,
    pieces: splitPieces(text, s.chunks ?? 3),
    toolCalls: calls,
    finish: s.finish === 'length' ? 'length' : calls.length > 0 ? 'tool_calls' : 'stop',
    usage,
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** prefix + n random alphanumerics (ids only; not for anything secret). */
export function makeId(prefix: string, n: number): string {
  let s = prefix;
  for (let i = 0; i < n; i++) s += ALNUM[(Math.random() * 62) | 0];
  return s;
}

/** Deterministic unit vector of `dims` floats derived from an FNV-1a hash of the input. */
export function hashVector(input: string, dims: number): number[] {
  let h = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  let x = h >>> 0 || 0x9e3779b9;
  const v: number[] = new Array(dims);
  let norm = 0;
  for (let i = 0; i < dims; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    const f = Math.fround(x / 0x7fffffff - 1);
    v[i] = f;
    norm += f * f;
  }
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 1;
  // Rounded to float32 so the JSON form and the base64 float32 form carry the same numbers.
  for (let i = 0; i < dims; i++) v[i] = Math.fround((v[i] as number) * scale);
  return v;
}

/** A vector as OpenAI's base64 encoding: little-endian float32 bytes. */
export function vectorToBase64(v: number[]): string {
  const f = new Float32Array(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}
