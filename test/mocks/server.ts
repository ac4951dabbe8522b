// The HTTP plumbing every mock shares: a loopback node:http server that records requests, counts the
// ones still open, and plays a Scenario out on the wire (delays, errors, streams cut by reset, malformed
// or hang). The wires only say how an answer or an error looks; this file decides when bytes go out.
// Hot path: no logging, one JSON.parse per request, and a single write for an instant answer.

import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildAnswer, OK } from './scenario.ts';
import type { Answer, OkScenario, Prompt, RecordedRequest, Scenario } from './scenario.ts';

/** One request as a wire handler sees it. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  path: string;
  query: URLSearchParams;
  /** Parsed JSON body; undefined when the body was empty or not JSON. */
  json: unknown;
  /** True when a non-empty body failed to parse as JSON. */
  badJson: boolean;
}

/** What a wire handler gets besides the request. */
export interface WireContext {
  apiKey: string;
  /** Takes the next queued scenario (or the default). Call it only for a request that passed validation. */
  next(): Scenario;
}

export type Handler = (ex: Exchange) => void | Promise<void>;

export interface MockServer {
  server: Server;
  port: number;
  requests: RecordedRequest[];
  inFlight(): number;
  close(): Promise<void>;
}

export async function startServer(port: number, record: boolean, handler: Handler): Promise<MockServer> {
  const requests: RecordedRequest[] = [];
  let open = 0;
  const server = createServer((req, res) => {
    open++;
    res.once('close', () => open--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.once('error', () => res.destroy());
    req.once('end', () => {
      const raw = chunks.length === 0 ? '' : chunks.length === 1 ? (chunks[0] as Buffer).toString('utf8') : Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      let badJson = false;
      if (raw.length > 0) {
        try {
          json = JSON.parse(raw);
        } catch {
          badJson = true;
        }
      }
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
      const method = req.method ?? 'GET';
      if (record) {
        requests.push({
          method,
          path,
          query: Object.fromEntries(query),
          headers: req.headers,
          body: badJson ? raw : json === undefined ? '' : json,
          at: Date.now(),
        });
      }
      let p: void | Promise<void>;
      try {
        p = handler({ req, res, method, path, query, json, badJson });
      } catch {
        internalError(res);
        return;
      }
      if (p) p.catch(() => internalError(res));
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  return {
    server,
    port: actual,
    requests,
    inFlight: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function internalError(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, 500, { error: { message: 'mock provider crashed' } });
}

export function gone(res: ServerResponse): boolean {
  return res.destroyed || res.writableEnded;
}

/** Resolves after ms, or as soon as the response closes (client abort, server close). */
export function wait(ms: number, res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      res.off('close', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    res.once('close', done);
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  sendText(res, status, JSON.stringify(body), headers);
}

function sendText(res: ServerResponse, status: number, text: string, headers?: Record<string, string>): void {
  const h: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
  if (headers) Object.assign(h, headers);
  res.writeHead(status, h);
  res.end(text);
}

/** Drops the connection without a response; RST where the platform allows it. */
export function resetSocket(res: ServerResponse): void {
  const s = res.socket;
  if (!s) {
    res.destroy();
    return;
  }
  if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
  else s.destroy();
}

/** Closes the connection mid-response once what was written has reached the socket (the client sees a
 * truncated body: undici reports 'terminated'). A RST here could discard bytes the client had not read. */
function cutAfterFlush(res: ServerResponse): void {
  res.write('', () => {
    if (res.socket) res.socket.destroy();
    else res.destroy();
  });
}

/** How one wire renders answers and errors; the timing is respond()'s. */
export interface WireRenderer {
  /** Extra headers on every response (request ids). */
  headers(): Record<string, string>;
  /** Body (and extra headers) of an error scenario with this status. */
  error(status: number, message: string | undefined, retryAfter: number | undefined): unknown;
  contextWindow(p: Prompt): { status: number; body: unknown };
  /** The whole non-streaming body. */
  json(a: Answer): unknown;
  /** Each SSE event, already framed (ends with a blank line). */
  frames(a: Answer): string[];
  /** A frame whose data is not JSON. */
  malformedFrame: string;
  /** content-type of streamed responses. */
  streamType: string;
}

/** Plays scenario s out for a validated chat request. */
export async function respond(ex: Exchange, s: Scenario, stream: boolean, w: WireRenderer, p: Prompt): Promise<void> {
  const res = ex.res;
  if ((s.kind === 'ok' || s.kind === 'error') && s.delayMs) {
    await wait(s.delayMs, res);
    if (gone(res)) return;
  }
  switch (s.kind) {
    case 'error': {
      const h = w.headers();
      if (s.retryAfter !== undefined) h['retry-after'] = String(s.retryAfter);
      sendJson(res, s.status, w.error(s.status, s.message, s.retryAfter), h);
      return;
    }
    case 'contextWindow': {
      const e = w.contextWindow(p);
      sendJson(res, e.status, e.body, w.headers());
      return;
    }
    case 'reset':
      if (s.afterChunks === undefined) {
        resetSocket(res);
        return;
      }
      break;
    case 'hang':
      if (s.afterChunks === undefined) return;
      break;
    default:
      break;
  }
  const ok: OkScenario = s.kind === 'ok' ? s : OK;
  const answer = buildAnswer(p, ok);

  if (!stream) {
    const text = JSON.stringify(w.json(answer));
    if (s.kind === 'ok') {
      sendText(res, 200, text, w.headers());
      return;
    }
    const half = text.slice(0, Math.max(1, text.length >> 1));
    if (s.kind === 'malformed') {
      // A 200 that claims JSON but is cut short: what a broken proxy or truncated upstream looks like.
      sendText(res, 200, half, w.headers());
      return;
    }
    // reset / hang after some output: promise the whole body, send half.
    res.writeHead(200, { ...w.headers(), 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.write(half);
    if (s.kind === 'reset') cutAfterFlush(res);
    return;
  }

  const frames = w.frames(answer);
  res.writeHead(200, { ...w.headers(), 'content-type': w.streamType, 'cache-control': 'no-cache' });
  const delay = ok.chunkDelayMs ?? 0;
  if (s.kind === 'ok' && delay <= 0) {
    res.end(frames.join(''));
    return;
  }
  const limit = s.kind === 'ok' ? frames.length : Math.min(Math.max(0, s.afterChunks ?? 1), frames.length);
  res.flushHeaders();
  for (let i = 0; i < limit; i++) {
    if (i > 0 && delay > 0) {
      await wait(delay, res);
      if (gone(res)) return;
    }
    res.write(frames[i] as string);
  }
  switch (s.kind) {
    case 'ok':
      res.end();
      return;
    case 'reset':
      cutAfterFlush(res);
      return;
    case 'malformed':
      res.end(w.malformedFrame);
      return;
    default:
      return; // hang: keep the socket open, send nothing more
  }
}
