// Wires the sidecar: config store and its source, metrics, proxy and admin listeners.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdminApp } from './admin.ts';
import { loadConfigFile, type LoadResult } from './config/load.ts';
import { ConfigStore } from './config/store.ts';
import { startOperatorClient } from './config/operatorClient.ts';
import { watchFile } from './config/watch.ts';
import { createLogger, type Logger } from './log.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import type { Shared } from './proxy/context.ts';
import { closeUpstreamPools } from './proxy/upstream.ts';
import { parseHostPort as parseAddress } from './http/address.ts';
import { HealthRegistry } from './resilience/health.ts';
import { ClassifierLoader } from './router/loader.ts';
import { RouterRegistry } from './router/runtime.ts';
import { createProxyServer } from './server.ts';

export interface SidecarOptions {
  /** Standalone mode: the YAML/JSON config file, hot-reloaded. */
  configPath?: string;
  /** Operator mode: the config stream's URL, the CA that signs it, and the projected token's file. */
  operator?: { url: string; caPEM: string; tokenFile: string };
  /** host:port for the proxy; the host must be a loopback address. */
  listen: string;
  /** host:port for /metrics, /healthz, /readyz. */
  adminListen: string;
  maxBodyBytes?: number;
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
}

export interface Sidecar {
  proxyURL: string;
  adminURL: string;
  store: ConfigStore;
  metrics: Metrics;
  health: HealthRegistry;
  routers: RouterRegistry;
  /** Re-reads the config file now (tests; the watcher calls it on change). */
  reload(): Promise<string[]>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export class StartupError extends Error {}

export function parseHostPort(s: string): { host: string; port: number } {
  try {
    return parseAddress(s);
  } catch (err) {
    throw new StartupError((err as Error).message);
  }
}

const isLoopback = (host: string) => host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);

export async function startSidecar(opts: SidecarOptions): Promise<Sidecar> {
  const proxyAddr = parseHostPort(opts.listen);
  if (!isLoopback(proxyAddr.host)) throw new StartupError(`--listen must be a loopback address (127.0.0.1); got ${proxyAddr.host}`);
  const adminAddr = parseHostPort(opts.adminListen);
  const log = opts.logger ?? createLogger();
  const metrics = createMetrics();
  const health = new HealthRegistry();
  const store = new ConfigStore(metrics, log, health);

  let reload = async (): Promise<string[]> => [];
  let watcher: { close(): void } | undefined;
  if (opts.configPath) {
    const path = opts.configPath;
    const load = (): Promise<LoadResult> => loadConfigFile(path, opts.env ?? process.env);
    const first = await load();
    if (!first.ok) throw new StartupError(`invalid config ${path}:\n  ${first.errors.join('\n  ')}`);
    store.apply(first, 'file');
    reload = async () => store.apply(await load(), 'file');
    watcher = watchFile(path, () => void reload());
  }
  const operator = opts.operator ? startOperatorClient({ ...opts.operator, store, log }) : undefined;

  registerCooldownGauge(metrics, health);
  const routers = new RouterRegistry({
    onEvent: (e) => {
      if (e.type === 'restart') metrics.routerWorkerRestarts.inc();
      else if (e.type === 'batch') metrics.routerBatch.observe(e.size);
    },
  });
  const classifiers = new ClassifierLoader(routers, log);
  store.onApplied = (cfg) => classifiers.load(cfg);
  if (store.current) classifiers.load(store.current);
  const shared: Shared = { metrics, health, log, routers, maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES };
  const proxy = createProxyServer(store, shared);
  const admin = createServer(createAdminApp(metrics.registry, {
    ready: () => {
      const reasons = [...(store.current ? [] : ['no config']), ...classifiers.pending()];
      return { ok: reasons.length === 0, reasons };
    },
  }));
  await Promise.all([listen(proxy, proxyAddr), listen(admin, adminAddr)]);
  const proxyURL = urlOf(proxy);
  const adminURL = urlOf(admin);
  log.info({ proxy: proxyURL, admin: adminURL, version: store.current?.version }, 'sidecar listening');

  return {
    proxyURL, adminURL, store, metrics, health, routers, reload: () => reload(),
    async close() {
      watcher?.close();
      operator?.close();
      proxy.closeAllConnections();
      admin.closeAllConnections();
      await Promise.all([closeServer(proxy), closeServer(admin)]);
      await closeUpstreamPools();
      await routers.closeAll();
    },
  };
}

/** The cooldown gauge is computed at scrape time, so an expired cooldown reads 0 without traffic. */
function registerCooldownGauge(metrics: Metrics, health: HealthRegistry): void {
  const gauge = metrics.cooldownActive as typeof metrics.cooldownActive & { collect?: () => void };
  Object.assign(gauge, {
    collect() {
      gauge.reset();
      const now = Date.now();
      for (const [id, h] of health.entries()) {
        const [key, , model] = id.split('|');
        gauge.set({ provider_key: key!, model: model! }, h.inCooldown(now) ? 1 : 0);
      }
    },
  });
}

function listen(server: Server, addr: { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => { server.off('error', reject); resolve(); });
  });
}

function urlOf(server: Server): string {
  const a = server.address() as AddressInfo;
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
