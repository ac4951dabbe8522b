// `triage operator`: flags and environment → startOperator, and a clean shutdown on SIGTERM.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parseHostPort } from '../sidecar/http/address.ts';
import { startOperator } from './main.ts';

const USAGE = `usage: triage operator [flags]

  --namespace NS            the operator's namespace (default: $POD_NAMESPACE)
  --identity NAME           this replica's name for leader election (default: $POD_NAME or hostname)
  --listen HOST:PORT        webhook and config streams, TLS (default 0.0.0.0:8443)
  --metrics-listen H:P      /metrics, /healthz, /readyz (default 0.0.0.0:8080)
  --service-name NAME       the operator's Service (default triage-operator)
  --webhook-config NAME     the MutatingWebhookConfiguration to keep the caBundle of (default triage-sidecar-injector)
  --tls-secret NAME         self-managed CA and certificate in this Secret (default triage-operator-tls)
  --tls-dir DIR             use a mounted tls.crt/tls.key/ca.crt instead (cert-manager)
  --extra-san NAME|IP       extra subject names for the self-managed certificate (repeatable)
  --inject-settings FILE    JSON injection settings (image, resources, ports, token audience, …)
  --sidecar-operator-url U  the URL injected sidecars use (default https://SERVICE.NS.svc:PORT)
  --kubeconfig FILE         (default: $KUBECONFIG, then in-cluster)
`;

export async function runOperatorCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        namespace: { type: 'string', default: process.env.POD_NAMESPACE },
        identity: { type: 'string', default: process.env.POD_NAME },
        listen: { type: 'string', default: '0.0.0.0:8443' },
        'metrics-listen': { type: 'string', default: '0.0.0.0:8080' },
        'service-name': { type: 'string', default: 'triage-operator' },
        'webhook-config': { type: 'string', default: 'triage-sidecar-injector' },
        'tls-secret': { type: 'string', default: 'triage-operator-tls' },
        'tls-dir': { type: 'string' },
        'extra-san': { type: 'string', multiple: true, default: [] },
        'inject-settings': { type: 'string' },
        'sidecar-operator-url': { type: 'string' },
        kubeconfig: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    process.stderr.write(`triage operator: ${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) { process.stdout.write(USAGE); return 0; }
  if (!values.namespace) { process.stderr.write(`triage operator: --namespace (or POD_NAMESPACE) is required\n`); return 2; }
  const inject = {
    image: 'ghcr.io/triage-dev/triage:0.1.0', proxyPort: 4000, adminPort: 4001, tokenAudience: 'triage.dev/operator', tokenExpirationSeconds: 3600,
    resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    ...(values['inject-settings'] ? JSON.parse(readFileSync(values['inject-settings'], 'utf8')) : {}),
    ...(values['sidecar-operator-url'] ? { operatorURL: values['sidecar-operator-url'] } : {}),
  };
  const op = await startOperator({
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    namespace: values.namespace,
    ...(values.identity ? { identity: values.identity } : {}),
    listen: parseHostPort(values.listen!),
    metricsListen: parseHostPort(values['metrics-listen']!),
    serviceName: values['service-name']!,
    webhookConfigName: values['webhook-config']!,
    tls: values['tls-dir'] ? { mode: 'dir', dir: values['tls-dir'] } : { mode: 'self', secretName: values['tls-secret']!, extraSANs: values['extra-san'] as string[] },
    inject,
  });
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await op.stop();
  return 0;
}
