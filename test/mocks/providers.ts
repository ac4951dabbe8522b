// startMockProvider: one loopback HTTP server speaking one provider wire, with a FIFO of scenarios that
// the next chat calls consume (default {kind:'ok'}), a record of every request, and an in-flight count.

import { handleAnthropic } from './anthropic.ts';
import { handleGemini } from './gemini.ts';
import { handleOpenAI } from './openai.ts';
import { OK } from './scenario.ts';
import type { MockWire, RecordedRequest, Scenario } from './scenario.ts';
import { startServer } from './server.ts';
import type { Exchange, WireContext } from './server.ts';

export type { MockToolCall, MockWire, OkScenario, RecordedRequest, Scenario } from './scenario.ts';

export interface MockProviderOptions {
  wire: MockWire;
  /** 0 (default) = an ephemeral port. */
  port?: number;
  /** Default 'test-key'. */
  apiKey?: string;
  /** A label (default: the wire). */
  name?: string;
  /** Keep every request in `requests` (default true). Turn off for long benchmarks so memory stays flat. */
  record?: boolean;
}

export interface MockProvider {
  name: string;
  wire: MockWire;
  port: number;
  /** Base URL to configure: openai → http://127.0.0.1:P/v1; anthropic and gemini → http://127.0.0.1:P. */
  url: string;
  /** Every request received, oldest first (when recording). */
  requests: RecordedRequest[];
  /** Queues scenarios for the next chat / messages / generateContent calls, FIFO. */
  enqueue(...s: Scenario[]): void;
  /** The scenario used when the queue is empty (initially {kind:'ok'}). */
  setDefault(s: Scenario): void;
  /** Clears the queue, the recorded requests and the default. */
  reset(): void;
  /** Requests open right now. */
  inFlight(): number;
  /** Closes the server and destroys open sockets. */
  close(): Promise<void>;
}

const HANDLERS: Record<MockWire, (ex: Exchange, ctx: WireContext) => Promise<void>> = {
  openai: handleOpenAI,
  anthropic: handleAnthropic,
  gemini: handleGemini,
};

export async function startMockProvider(opts: MockProviderOptions): Promise<MockProvider> {
  const wire = opts.wire;
  const handle = HANDLERS[wire];
  if (!handle) throw new Error(`unknown mock wire: ${String(wire)}`);
  const queue: Scenario[] = [];
  let head = 0;
  let fallback: Scenario = OK;
  const ctx: WireContext = {
    apiKey: opts.apiKey ?? 'test-key',
    next: () => {
      if (head < queue.length) {
        const s = queue[head++] as Scenario;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        }
        return s;
      }
      return fallback;
    },
  };
  const srv = await startServer(opts.port ?? 0, opts.record ?? true, (ex) => handle(ex, ctx));
  const base = `http://127.0.0.1:${srv.port}`;
  return {
    name: opts.name ?? wire,
    wire,
    port: srv.port,
    url: wire === 'openai' ? base + '/v1' : base,
    requests: srv.requests,
    enqueue: (...s) => {
      queue.push(...s);
    },
    setDefault: (s) => {
      fallback = s;
    },
    reset: () => {
      queue.length = 0;
      head = 0;
      srv.requests.length = 0;
      fallback = OK;
    },
    inFlight: srv.inFlight,
    close: srv.close,
  };
}
