// Wires the operator: Kubernetes client, leader election, TLS, controller, webhook and config streams,
// plus a plain HTTP listener for probes and metrics.

import { hostname } from 'node:os';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { TOKEN_AUDIENCE } from '../api/configStream.ts';
import { createLogger, type Logger } from '../sidecar/log.ts';
import { reviewToken } from './auth.ts';
import { Controller } from './controller.ts';
import type { InjectSettings } from './inject.ts';
import { Kube } from './kube/rest.ts';
import { LeaderElector } from './leader.ts';
import { createOperatorServer } from './server.ts';
import { ensureSelfManagedTls, readTlsDir, syncCaBundle, type TlsMaterial } from './tls.ts';
import { admit } from './webhook.ts';

export interface OperatorOptions {
  kubeconfig?: string;
  namespace: string;
  identity?: string;
  listen: { host: string; port: number };
  metricsListen: { host: string; port: number };
  serviceName: string;
  webhookConfigName: string;
  tls: { mode: 'self'; secretName: string; extraSANs: string[] } | { mode: 'dir'; dir: string };
  /** Injection settings without the TLS CA and operator URL, which the operator fills in. */
  inject: Omit<InjectSettings, 'caPEM' | 'operatorURL'> & { operatorURL?: string };
  logger?: Logger;
}

export interface Operator { url: string; metricsURL: string; controller: Controller; leader: LeaderElector; stop(): Promise<void> }

export async function startOperator(o: OperatorOptions): Promise<Operator> {
  const log = o.logger ?? createLogger(process.env.TRIAGE_LOG_LEVEL ?? 'info', undefined, 'operator');
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  const kube = new Kube(kc);
  const identity = o.identity ?? hostname();

  const leader = new LeaderElector(kube, { namespace: o.namespace, name: 'triage-operator-leader', identity }, log);
  const loadTls = (): Promise<TlsMaterial> => o.tls.mode === 'self'
    ? ensureSelfManagedTls({ kube, namespace: o.namespace, secretName: o.tls.secretName, serviceName: o.serviceName, extraSANs: o.tls.extraSANs, log })
    : readTlsDir(o.tls.dir);
  let tls = await loadTls();

  const controller = new Controller({ kube, kc, namespace: o.namespace, identity, leader, log, authenticate: (t) => reviewToken(kube, t, TOKEN_AUDIENCE) });
  const operatorURL = o.inject.operatorURL ?? `https://${o.serviceName}.${o.namespace}.svc:${o.listen.port}`;
  const settings = (): InjectSettings => ({ ...o.inject, operatorURL, caPEM: tls.caPEM });
  const server = createOperatorServer(tls, controller.distributor, (review) => admit(review as never, {
    settings,
    namespaceLabels: (ns) => controller.namespaceLabels(ns),
    podConfigReady: (ns, labels) => controller.podConfigReady(ns, labels),
    onSkip: (ns, pod, report, dryRun) => {
      if (dryRun) return;
      void controller.event(ns, { kind: 'Pod', name: pod.metadata?.name ?? pod.metadata?.generateName ?? '', apiVersion: 'v1' }, 'Warning', `Injection${report.reason}`, report.message);
    },
  }), log);

  // Readiness: caches synced and the listener up. Metrics: leadership and sessions.
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'triage_operator_process_' });
  new Gauge({ name: 'triage_operator_leader', help: '1 on the replica that writes status.', registers: [registry], collect() { this.set(leader.isLeader() ? 1 : 0); } });
  new Gauge({ name: 'triage_operator_sidecar_sessions', help: 'Config streams open on this replica.', registers: [registry], collect() { this.set(controller.distributor.sessions.size); } });
  let ready = false;
  const probes = createServer(async (req, res) => {
    if (req.url === '/healthz') return void res.end('ok\n');
    if (req.url === '/readyz') { res.statusCode = ready ? 200 : 503; return void res.end(ready ? 'ready\n' : 'not ready\n'); }
    if (req.url === '/metrics') { res.setHeader('content-type', registry.contentType); return void res.end(await registry.metrics()); }
    res.statusCode = 404;
    res.end();
  });

  await controller.start();
  leader.start();
  await new Promise<void>((r) => server.listen(o.listen.port, o.listen.host, r));
  await new Promise<void>((r) => probes.listen(o.metricsListen.port, o.metricsListen.host, r));
  ready = true;

  // Certificate upkeep: renew (self-managed) or re-read (mounted), and keep the webhook's caBundle current.
  const upkeep = async () => {
    try {
      const next = await loadTls();
      if (next.certPEM !== tls.certPEM) { server.setSecureContext({ cert: next.certPEM, key: next.keyPEM }); log.info('serving certificate reloaded'); }
      tls = next;
      if (leader.isLeader()) await syncCaBundle(kube, o.webhookConfigName, tls.caPEM, log);
    } catch (err) {
      log.error({ err: (err as Error).message }, 'certificate upkeep failed');
    }
  };
  leader.onChange = ((prev) => (isLeader: boolean) => { prev(isLeader); if (isLeader) void upkeep(); })(leader.onChange);
  // Cheap when nothing changed (two GETs); frequent so a re-created webhook configuration gets its caBundle soon.
  const upkeepTimer = setInterval(() => void upkeep(), 10_000);

  const addr = server.address() as AddressInfo;
  const maddr = probes.address() as AddressInfo;
  log.info({ listen: addr.port, identity }, 'operator started');
  return {
    url: `https://${o.listen.host}:${addr.port}`,
    metricsURL: `http://${o.metricsListen.host}:${maddr.port}`,
    controller, leader,
    async stop() {
      clearInterval(upkeepTimer);
      ready = false;
      await controller.stop();
      await leader.stop();
      await new Promise<void>((r) => server.close(() => r()));
      probes.close();
      kube.close();
    },
  };
}
