// The config stream between a sidecar and the operator: one HTTP/2 stream over TLS, opened by the
// sidecar, carrying newline-delimited JSON both ways. The operator pushes full versioned snapshots; the
// sidecar answers each with an ACK or a NACK. (Usage reports will ride the same stream.)

import type { SidecarConfig } from './sidecarConfig.ts';

export const CONFIG_STREAM_PATH = '/v1/sidecar/stream';
export const NDJSON = 'application/x-ndjson';
/** The audience of the projected service-account token the sidecar presents. */
export const TOKEN_AUDIENCE = 'triage.dev/operator';
/** The operator pings this often; a sidecar that hears nothing for 3 intervals reconnects. */
export const PING_INTERVAL_MS = 10_000;

export type OperatorMessage =
  | { type: 'config'; version: string; config: SidecarConfig }
  /** Nothing selects the pod (yet): the sidecar keeps what it has and stays not-ready if it has nothing. */
  | { type: 'noConfig'; reason: string }
  | { type: 'ping' };

export type SidecarMessage =
  | { type: 'hello'; configVersion: string | null; sidecarVersion: string }
  | { type: 'ack'; version: string }
  | { type: 'nack'; version: string; reason: string };

/** Splits a byte stream into JSON lines; a partial line waits for the next chunk. */
export class NdjsonReader {
  #buf = '';
  push(chunk: string): unknown[] {
    this.#buf += chunk;
    const lines = this.#buf.split('\n');
    this.#buf = lines.pop()!;
    return lines.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
  }
}

export const ndjson = (m: OperatorMessage | SidecarMessage) => `${JSON.stringify(m)}\n`;
