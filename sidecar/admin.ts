// The admin listener (all interfaces, its own port): metrics and probes only — never a proxied call,
// never config or secrets. Express is fine here: it is off the request path.

import express from 'express';
import type { Registry } from 'prom-client';

export interface Readiness { ready(): { ok: boolean; reasons: string[] } }

export function createAdminApp(registry: Registry, readiness: Readiness): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', async (_req, res) => {
    res.set('content-type', registry.contentType).send(await registry.metrics());
  });
  app.get('/healthz', (_req, res) => { res.type('text/plain').send('ok\n'); });
  app.get('/readyz', (_req, res) => {
    const r = readiness.ready();
    res.status(r.ok ? 200 : 503).type('text/plain').send(r.ok ? 'ready\n' : `not ready: ${r.reasons.join('; ')}\n`);
  });
  app.use((_req, res) => { res.status(404).type('text/plain').send('not found\n'); });
  return app;
}
