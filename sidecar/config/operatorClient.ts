// Operator mode: the sidecar opens the config stream to the operator over TLS, authenticates with its
// projected service-account token, applies each pushed snapshot through the same validation as a file,
// and answers ACK or NACK. On any failure it keeps serving its last good config and reconnects with
// jittered backoff.

import { readFile } from 'node:fs/promises';
import { connect, constants, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { CONFIG_STREAM_PATH, NDJSON, NdjsonReader, PING_INTERVAL_MS, ndjson, type OperatorMessage, type SidecarMessage } from '../../api/configStream.ts';
import type { Logger } from '../log.ts';
import { compileSnapshot } from './load.ts';
import type { ConfigStore } from './store.ts';

export const SIDECAR_VERSION = '0.1.0';

export interface OperatorClientOptions {
  url: string;
  caPEM: string;
  tokenFile: string;
  store: ConfigStore;
  log: Logger;
  backoff?: { minMs: number; maxMs: number };
}

export interface OperatorClient {
  connected(): boolean;
  close(): void;
}

export function startOperatorClient(o: OperatorClientOptions): OperatorClient {
  const backoff = o.backoff ?? { minMs: 500, maxMs: 30_000 };
  let closed = false;
  let connected = false;
  let failures = 0;
  let session: ClientHttp2Session | undefined;
  let timer: NodeJS.Timeout | undefined;

  const schedule = () => {
    if (closed) return;
    connected = false;
    // Full jitter, so a fleet of sidecars does not reconnect in step after an operator restart.
    const ceiling = Math.min(backoff.maxMs, backoff.minMs * 2 ** Math.min(failures++, 16));
    timer = setTimeout(run, Math.round(Math.random() * ceiling));
  };

  const run = async () => {
    let token: string;
    try {
      token = (await readFile(o.tokenFile, 'utf8')).trim(); // re-read: the kubelet rotates it
    } catch (err) {
      o.log.error({ err: (err as Error).message }, 'cannot read the service-account token');
      return schedule();
    }
    const s = connect(o.url, { ca: o.caPEM });
    session = s;
    let lastHeard = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastHeard > 3 * PING_INTERVAL_MS) s.destroy(new Error('config stream stalled'));
    }, PING_INTERVAL_MS);
    s.on('error', (err) => o.log.warn({ err: err.message }, 'operator connection failed'));
    s.on('close', () => {
      clearInterval(watchdog);
      if (session === s) schedule();
    });
    const stream: ClientHttp2Stream = s.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST',
      [constants.HTTP2_HEADER_PATH]: CONFIG_STREAM_PATH,
      [constants.HTTP2_HEADER_CONTENT_TYPE]: NDJSON,
      authorization: `Bearer ${token}`,
    });
    const send = (m: SidecarMessage) => { if (!stream.closed) stream.write(ndjson(m)); };
    stream.on('response', (headers) => {
      const status = Number(headers[constants.HTTP2_HEADER_STATUS]);
      if (status !== 200) { o.log.error({ status }, 'operator refused the config stream'); return; }
      connected = true;
      o.log.info({ operator: o.url }, 'config stream open');
    });
    send({ type: 'hello', configVersion: o.store.current?.version ?? null, sidecarVersion: SIDECAR_VERSION });
    const reader = new NdjsonReader();
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      lastHeard = Date.now();
      let messages: unknown[];
      try {
        messages = reader.push(chunk);
      } catch {
        return void s.destroy(new Error('operator sent a malformed message'));
      }
      for (const m of messages as OperatorMessage[]) {
        if (m.type === 'config') {
          const errors = o.store.apply(compileSnapshot(m.config), 'operator');
          send(errors.length ? { type: 'nack', version: m.version, reason: errors.join('; ').slice(0, 1000) } : { type: 'ack', version: m.version });
          if (!errors.length) failures = 0;
        } else if (m.type === 'noConfig') {
          o.log.warn({ reason: m.reason }, 'the operator has no config for this pod');
          failures = 0;
        }
      }
    });
    stream.on('close', () => { if (!s.destroyed) s.close(); });
    stream.on('error', (err) => o.log.warn({ err: err.message }, 'config stream failed'));
  };

  void run();
  return {
    connected: () => connected,
    close() {
      closed = true;
      clearTimeout(timer);
      session?.destroy();
    },
  };
}
