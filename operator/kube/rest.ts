// A thin Kubernetes REST client over the KubeConfig's credentials. The generated clients in
// @kubernetes/client-node do not cover server-side apply on subresources, so the few calls the operator
// makes are spelled out here; watches use the library's ListWatch.

import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';

export class KubeError extends Error {
  readonly status: number;
  readonly reason: string | undefined;
  constructor(status: number, message: string, reason?: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

export const APPLY = 'application/apply-patch+yaml';
export const JSON_PATCH = 'application/json-patch+json';
export const MERGE_PATCH = 'application/merge-patch+json';

export class Kube {
  readonly kc: KubeConfig;
  readonly server: URL;
  /** One keep-alive pool to the apiserver: a TLS handshake per request cost the operator CPU and memory. */
  #agent: Agent | undefined;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.server = new URL(kc.getCurrentCluster()!.server);
  }

  async request<T = any>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const opts: RequestOptions = { method, headers: { accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    this.#agent ??= new Agent({ keepAlive: true, maxSockets: 32, ca: opts.ca, cert: opts.cert, key: opts.key, rejectUnauthorized: opts.rejectUnauthorized });
    opts.agent = this.#agent;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    if (payload !== undefined) Object.assign(opts.headers!, { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) });
    const url = new URL(path, this.server);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<T>((resolve, reject) => {
      const req = send(url, opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: any;
          try { parsed = text ? JSON.parse(text) : undefined; } catch { parsed = undefined; }
          if ((res.statusCode ?? 500) >= 400) return reject(new KubeError(res.statusCode ?? 500, parsed?.message ?? text.slice(0, 300), parsed?.reason));
          resolve(parsed as T);
        });
        res.on('error', reject);
      });
      req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  get<T = any>(path: string): Promise<T> { return this.request<T>('GET', path); }

  /** Closes the pooled connections. */
  close(): void { this.#agent?.destroy(); }

  /** GET that answers undefined for 404. */
  async find<T = any>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Server-side apply with one field manager. */
  apply<T = any>(path: string, obj: unknown, fieldManager: string, force = true): Promise<T> {
    return this.request<T>('PATCH', `${path}?fieldManager=${encodeURIComponent(fieldManager)}&force=${force}`, obj, APPLY);
  }
}

export const crPath = (plural: string, ns?: string, name?: string, sub?: string) =>
  `/apis/triage.dev/v1alpha1${ns ? `/namespaces/${ns}` : ''}/${plural}${name ? `/${name}` : ''}${sub ? `/${sub}` : ''}`;
export const corePath = (plural: string, ns?: string, name?: string) =>
  `/api/v1${ns ? `/namespaces/${ns}` : ''}/${plural}${name ? `/${name}` : ''}`;
