// `make demo`: the whole system on embedded defaults. A local control plane, the operator with the chart's
// RBAC and webhook, mock providers, a RoutingPolicy applied with kubectl, a pod injected by the webhook,
// its sidecar started exactly as the injected container spec says, and requests through the official SDK.

import OpenAI from 'openai';
import { createNamespace, kubectlOK } from '../test/controlplane/cluster.ts';
import { runContainer } from '../test/helpers/kubelet.ts';
import { OPERATOR_NS, startSystem } from '../test/helpers/system.ts';
import { startMockProvider } from '../test/mocks/index.ts';

const step = (s: string) => console.log(`\n==> ${s}`);

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const sys = await startSystem({ log: step });
  const [oai, claude] = await Promise.all([
    startMockProvider({ wire: 'openai', apiKey: 'demo-openai-key', record: false }),
    startMockProvider({ wire: 'anthropic', apiKey: 'demo-anthropic-key', record: false }),
  ]);
  const sidecars: { stop(): Promise<void> }[] = [];
  try {
    step('starting the operator (as the chart\'s ServiceAccount)');
    await sys.startOperator('triage-operator-0');
    await createNamespace(sys.cp, 'team-a', { 'triage.dev/inject': 'enabled' });

    const manifests = `
apiVersion: v1
kind: Secret
metadata: {name: openai-creds, namespace: ${OPERATOR_NS}}
stringData: {apiKey: demo-openai-key}
---
apiVersion: v1
kind: Secret
metadata: {name: anthropic-creds, namespace: ${OPERATOR_NS}}
stringData: {apiKey: demo-anthropic-key}
---
apiVersion: triage.dev/v1alpha1
kind: ProviderKey
metadata: {name: openai, namespace: ${OPERATOR_NS}}
spec: {provider: openai, baseURL: "${oai!.url}", secretRef: {name: openai-creds}, allowedNamespaces: [team-a]}
---
apiVersion: triage.dev/v1alpha1
kind: ProviderKey
metadata: {name: anthropic, namespace: ${OPERATOR_NS}}
spec: {provider: anthropic, baseURL: "${claude!.url}", secretRef: {name: anthropic-creds}, allowedNamespaces: [team-a]}
---
apiVersion: triage.dev/v1alpha1
kind: RoutingPolicy
metadata: {name: support-bot, namespace: team-a}
spec:
  selector: {matchLabels: {app: support-bot}}
  models:
    - {name: strong, deployments: [{providerKey: ${OPERATOR_NS}/openai, model: gpt-4o-2024-05-13}]}
    - {name: weak, deployments: [{providerKey: ${OPERATOR_NS}/anthropic, model: claude-3-haiku-20240307}]}
  router: {type: classifier, strong: strong, weak: weak, strongFraction: 0.4}
  fallbacks: [{from: strong, to: [weak], when: [rateLimited, serverError, timeout]}]
`;
    step('kubectl apply -f - (Secrets, ProviderKeys, a RoutingPolicy)');
    process.stdout.write(await kubectlOK(sys.cp, ['apply', '-f', '-'], { input: manifests }));
    await until('the policy to be Ready', async () => (await sys.getJSON(['rp', 'support-bot', '-n', 'team-a'])).status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True');

    step('kubectl apply a Pod in the namespace labelled triage.dev/inject=enabled');
    await kubectlOK(sys.cp, ['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'support-bot-0', namespace: 'team-a', labels: { app: 'support-bot' } }, spec: { containers: [{ name: 'app', image: 'support-bot:1' }] } }) });
    const pod = await sys.getJSON(['pod', 'support-bot-0', '-n', 'team-a']);
    const sc = pod.spec.initContainers[0];
    console.log(`injected: initContainers[0] = ${sc.name} (restartPolicy ${sc.restartPolicy}), command ${JSON.stringify([...sc.command, ...sc.args])}`);
    console.log(`app env:  ${pod.spec.containers[0].env.map((e: any) => `${e.name}=${e.value}`).join(' ')}`);

    step('starting the sidecar exactly as its container spec says (there is no kubelet here)');
    sidecars.push(await runContainer(sys.cp, pod, sc));
    await until('the sidecar to be ready', async () => (await fetch(`http://127.0.0.1:${sys.sidecarPorts.admin}/readyz`)).ok);

    step('the app calls the sidecar with the official OpenAI SDK');
    const client = new OpenAI({ apiKey: 'unused', baseURL: `http://127.0.0.1:${sys.sidecarPorts.proxy}/v1`, maxRetries: 0 });
    for (const prompt of ['What is 2+2?', 'Prove the four colour theorem.', 'Say hi', 'Prove, step by step and with full rigour, that every finite integral domain is a field. Then explain where finiteness is used, give a counterexample without it, and generalise the argument to finite rings without zero divisors (Wedderburn).']) {
      const r = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: prompt }] }).withResponse();
      const h = r.response.headers;
      console.log(`  ${(prompt.length > 34 ? `${prompt.slice(0, 31)}...` : prompt).padEnd(34)} route=${h.get('x-triage-route')?.padEnd(6)} score=${h.get('x-triage-score')} threshold=${h.get('x-triage-threshold')} provider=${h.get('x-triage-provider')?.padEnd(9)} → ${r.data.model}`);
    }

    step('kubectl get routingpolicies -n team-a');
    await until('the sidecar to be counted in sync', async () => (await sys.getJSON(['rp', 'support-bot', '-n', 'team-a'])).status?.sidecars?.inSync === 1);
    process.stdout.write(await kubectlOK(sys.cp, ['get', 'routingpolicies', '-n', 'team-a']));
    process.stdout.write(await kubectlOK(sys.cp, ['get', 'providerkeys', '-n', OPERATOR_NS]));
    console.log(`\ndone in ${((Date.now() - t0) / 1000).toFixed(1)} s. make dev-up keeps such a cluster running for you; make demo-standalone shows the sidecar alone.`);
  } finally {
    for (const s of sidecars) await s.stop();
    await Promise.all([oai!.close(), claude!.close()]);
    await sys.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
