// The operator's HTTPS listener (HTTP/2, with HTTP/1.1 for the apiserver's webhook calls): POST /mutate
// for admission, and the sidecars' config streams. Certificates can be swapped without a restart.

import { createSecureServer, type Http2SecureServer, type ServerHttp2Stream, type IncomingHttpHeaders } from 'node:http2';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { CONFIG_STREAM_PATH } from '../api/configStream.ts';
import type { Logger } from '../sidecar/log.ts';
import type { Distributor } from './distributor.ts';
import type { TlsMaterial } from './tls.ts';

const MAX_REVIEW_BYTES = 4 * 1024 * 1024;

export function createOperatorServer(tls: TlsMaterial, distributor: Distributor, admit: (review: unknown) => unknown, log: Logger): Http2SecureServer {
  const server = createSecureServer({ cert: tls.certPEM, key: tls.keyPEM, allowHTTP1: true });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    if (headers[':path'] !== CONFIG_STREAM_PATH || headers[':method'] !== 'POST') return;
    void distributor.handle(stream, headers.authorization).catch((err: Error) => {
      log.error({ err: err.message }, 'config stream failed');
      if (!stream.destroyed) stream.close();
    });
  });
  server.on('request', (req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse) => {
    if (req.url === CONFIG_STREAM_PATH && req.httpVersion === '2.0') return; // handled on 'stream'
    if (req.method === 'POST' && req.url?.startsWith('/mutate')) return void handleAdmission(req, res, admit, log);
    reply(res, 404, 'text/plain', 'not found\n');
  });
  return server;
}

function handleAdmission(req: Http2ServerRequest | IncomingMessage, res: Http2ServerResponse | ServerResponse, admit: (review: unknown) => unknown, log: Logger): void {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size > MAX_REVIEW_BYTES) req.destroy();
    else chunks.push(c);
  });
  req.on('end', () => {
    let out: unknown;
    try {
      out = admit(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch (err) {
      log.error({ err: (err as Error).message }, 'admission failed');
      return reply(res, 400, 'text/plain', 'bad AdmissionReview\n');
    }
    reply(res, 200, 'application/json', JSON.stringify(out));
  });
}

type AnyResponse = Http2ServerResponse | ServerResponse;

function reply(res: AnyResponse, status: number, type: string, body: string): void {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', Buffer.byteLength(body));
  (res as ServerResponse).end(body);
}
