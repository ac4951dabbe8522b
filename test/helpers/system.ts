// The whole system on a local control plane, as the chart would configure it: CRDs applied with kubectl,
// the operator running as the chart's ServiceAccount with the chart's RBAC, and the chart's webhook
// configuration (reached by URL, since there is no Service routing without a kube-proxy). Used by the
// integration tests, `make demo` and `make dev-up`.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { createNamespace, kubectlOK, startControlPlane, type ControlPlane } from '../controlplane/cluster.ts';
import { chartRBAC, findObject, renderChart } from './chart.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
export const OPERATOR_NS = 'triage-system';
export const WEBHOOK_NAME = 'triage-sidecar-injector';

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  });
}

export interface OperatorProcess { name: string; process: ChildProcess; logs: string[]; metricsURL: string; stop(signal?: NodeJS.Signals): Promise<void> }

export interface System {
  cp: ControlPlane;
  dir: string;
  /** The port every operator replica's webhook and config streams would be reached at. */
  operatorPort: number;
  sidecarPorts: { proxy: number; admin: number };
  operators: OperatorProcess[];
  /** Starts an operator replica (listening on operatorPort unless given another). */
  startOperator(name: string, port?: number): Promise<OperatorProcess>;
  apply(obj: unknown): Promise<string>;
  getJSON(args: string[]): Promise<any>;
  stop(): Promise<void>;
}

export interface SystemOptions {
  /** Keep the control plane's files here (dev-up). */
  dir?: string;
  log?: (line: string) => void;
}

export async function startSystem(o: SystemOptions = {}): Promise<System> {
  const log = o.log ?? (() => {});
  log('starting etcd and kube-apiserver');
  const cp = await startControlPlane(o.dir ? { dir: join(o.dir, 'controlplane') } : {});
  const dir = o.dir ?? cp.dir;
  mkdirSync(dir, { recursive: true });
  const apply = (obj: unknown) => kubectlOK(cp, ['apply', '-f', '-'], { input: JSON.stringify(obj) });
  const getJSON = async (args: string[]) => JSON.parse(await kubectlOK(cp, ['get', ...args, '-o', 'json']));

  log('applying the CRDs with kubectl');
  await kubectlOK(cp, ['apply', '-f', join(ROOT, 'crds')]);
  await kubectlOK(cp, ['wait', '--for=condition=Established', 'crd/routingpolicies.triage.dev', 'crd/providerkeys.triage.dev', '--timeout=60s']);
  await createNamespace(cp, OPERATOR_NS);

  log("installing the chart's ServiceAccount, RBAC and webhook configuration");
  const rendered = renderChart({}, { namespace: OPERATOR_NS });
  for (const obj of chartRBAC({}, { namespace: OPERATOR_NS })) await apply(obj);
  const sa = findObject(rendered, 'ServiceAccount').metadata.name;
  const token = (await kubectlOK(cp, ['create', 'token', sa, '-n', OPERATOR_NS, '--duration', '24h'])).trim();
  const operatorKubeconfig = join(dir, 'operator.kubeconfig');
  writeFileSync(operatorKubeconfig, dump({
    apiVersion: 'v1', kind: 'Config', 'current-context': 'operator',
    clusters: [{ name: 'local', cluster: { server: cp.server, 'certificate-authority-data': Buffer.from(cp.caPEM).toString('base64') } }],
    users: [{ name: 'operator', user: { token } }],
    contexts: [{ name: 'operator', context: { cluster: 'local', user: 'operator' } }],
  }));

  const operatorPort = await freePort();
  const hook = findObject(rendered, 'MutatingWebhookConfiguration');
  hook.metadata.name = WEBHOOK_NAME;
  for (const w of hook.webhooks) w.clientConfig = { url: `https://127.0.0.1:${operatorPort}/mutate` };
  await apply(hook);

  // The chart's injection settings, with loopback ports free on this machine.
  const sidecarPorts = { proxy: await freePort(), admin: await freePort() };
  const chartSettings = rendered.find((x) => x.kind === 'ConfigMap' && x.data?.['settings.json'])?.data['settings.json'];
  const injectPath = join(dir, 'inject.json');
  writeFileSync(injectPath, JSON.stringify({ ...(chartSettings ? JSON.parse(chartSettings) : {}), proxyPort: sidecarPorts.proxy, adminPort: sidecarPorts.admin }));

  const operators: OperatorProcess[] = [];
  const startOperator = async (name: string, port = operatorPort): Promise<OperatorProcess> => {
    const metricsPort = await freePort();
    const child = spawn(join(ROOT, 'bin/triage'), [
      'operator', '--kubeconfig', operatorKubeconfig, '--namespace', OPERATOR_NS, '--identity', name,
      '--listen', `127.0.0.1:${port}`, '--metrics-listen', `127.0.0.1:${metricsPort}`,
      '--webhook-config', WEBHOOK_NAME, '--extra-san', '127.0.0.1', '--sidecar-operator-url', `https://127.0.0.1:${operatorPort}`,
      '--inject-settings', injectPath,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    const logs: string[] = [];
    child.stdout!.on('data', (d) => logs.push(String(d)));
    child.stderr!.on('data', (d) => logs.push(String(d)));
    process.once('exit', () => child.kill('SIGKILL'));
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const op: OperatorProcess = {
      name, process: child, logs, metricsURL: `http://127.0.0.1:${metricsPort}`,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    operators.push(op);
    for (let i = 0; i < 200; i++) {
      if (child.exitCode !== null) throw new Error(`operator ${name} exited: ${logs.join('')}`);
      if ((await fetch(`${op.metricsURL}/readyz`).catch(() => undefined))?.ok) return op;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`operator ${name} did not become ready: ${logs.join('')}`);
  };

  return {
    cp, dir, operatorPort, sidecarPorts, operators, startOperator, apply, getJSON,
    async stop() {
      for (const op of operators) await op.stop('SIGKILL');
      await cp.stop();
    },
  };
}
