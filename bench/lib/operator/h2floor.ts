// The memory floor for holding config streams in Node, as a calibration for the operator's RSS: a bare
// node:http2 TLS server (the operator's own certificate and settings: createSecureServer with allowHTTP1)
// that answers each POST stream with 200 and one small config message, reads whatever the client sends,
// and does nothing else. Run as a child process:
//
//   node bench/lib/operator/h2floor.ts CERT_FILE KEY_FILE     → prints its port on stdout
//
// Nothing else is loaded (no TypeScript-heavy imports), so its RSS is Node's own plus the connections'.

import { readFileSync } from 'node:fs';
import { createSecureServer, type ServerHttp2Stream } from 'node:http2';

const [certFile, keyFile] = process.argv.slice(2);
const server = createSecureServer({ cert: readFileSync(certFile!), key: readFileSync(keyFile!), allowHTTP1: true });
const streams = new Set<ServerHttp2Stream>();
server.on('stream', (stream) => {
  stream.respond({ ':status': 200, 'content-type': 'application/x-ndjson' });
  stream.write(`${JSON.stringify({ type: 'config', version: 'sha256:floor', config: { providerKeys: [], policies: [] } })}\n`);
  streams.add(stream);
  stream.on('data', () => {});
  stream.on('close', () => streams.delete(stream));
  stream.on('error', () => {});
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address();
  process.stdout.write(`${typeof a === 'object' && a ? a.port : 0}\n`);
});
