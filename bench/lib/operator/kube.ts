// A small admin client for the benchmark's own apiserver calls (fixtures, policy updates, pod creation,
// TokenRequests): HTTPS with keep-alive and a bounded socket pool, the admin bearer token, JSON in and out.
// Not the operator's client (operator/kube/rest.ts): the benchmark measures the operator, not itself.

import { Agent, request } from 'node:https';

export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export interface Api {
  request<T = any>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
  close(): void;
}

export function adminApi(server: string, caPEM: string, token: string, maxSockets = 32): Api {
  const agent = new Agent({ keepAlive: true, maxSockets, ca: caPEM });
  const base = new URL(server);
  return {
    request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string | number> = { accept: 'application/json', authorization: `Bearer ${token}` };
      if (payload !== undefined) Object.assign(headers, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) });
      return new Promise<T>((resolve, reject) => {
        const req = request(new URL(path, base), { method, headers, agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            if ((res.statusCode ?? 500) >= 400) {
              let msg = text.slice(0, 400);
              try { msg = JSON.parse(text).message ?? msg; } catch { /* not JSON */ }
              return reject(new ApiError(res.statusCode ?? 500, `${method} ${path}: ${res.statusCode} ${msg}`));
            }
            try { resolve((text ? JSON.parse(text) : undefined) as T); } catch (err) { reject(err); }
          });
          res.on('error', reject);
        });
        req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
      });
    },
    close() { agent.destroy(); },
  };
}

/** Runs fn over items with at most `limit` in flight; results in input order. Rejects on the first error. */
export async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Retries fn on errors that look transient (connection resets, 409/429/5xx), a few times. */
export async function retry<T>(fn: () => Promise<T>, attempts = 4): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const st = (err as ApiError).status;
      const transient = st === undefined || st === 429 || st >= 500;
      if (i >= attempts || !transient) throw err;
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}
