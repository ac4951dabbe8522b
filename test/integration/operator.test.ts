import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import OpenAI from 'openai';
import { createNamespace, kubectlOK } from '../controlplane/cluster.ts';
import { runContainer, type RunningContainer } from '../helpers/kubelet.ts';
import { eventually } from '../helpers/stack.ts';
import { OPERATOR_NS as OP_NS, startSystem, WEBHOOK_NAME as WEBHOOK, type System } from '../helpers/system.ts';
import { startMockProvider, type MockProvider } from '../mocks/index.ts';

let sys: System;
let mock: MockProvider;
const sidecars: RunningContainer[] = [];

const apply = (obj: unknown) => sys.apply(obj);
const getJSON = (args: string[]) => sys.getJSON(args);
const proxyURL = () => `http://127.0.0.1:${sys.sidecarPorts.proxy}/v1`;

const policy = (target: string, name = 'support-bot') => ({
  apiVersion: 'triage.dev/v1alpha1', kind: 'RoutingPolicy', metadata: { name, namespace: 'team-a' },
  spec: {
    selector: { matchLabels: { app: 'bot' } },
    models: [
      { name: 'strong', deployments: [{ providerKey: `${OP_NS}/openai`, model: 'gpt-4o' }] },
      { name: 'weak', deployments: [{ providerKey: `${OP_NS}/openai`, model: 'gpt-4o-mini' }] },
    ],
    router: { type: 'fixed', target },
  },
});

before(async () => {
  sys = await startSystem();
  await createNamespace(sys.cp, 'team-a', { 'triage.dev/inject': 'enabled' });
  mock = await startMockProvider({ wire: 'openai', apiKey: 'sk-fake-test-key-0000' });
  await apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'openai-creds', namespace: OP_NS }, stringData: { apiKey: 'sk-fake-test-key-0000' } });
  await apply({
    apiVersion: 'triage.dev/v1alpha1', kind: 'ProviderKey', metadata: { name: 'openai', namespace: OP_NS },
    spec: { provider: 'openai', baseURL: mock.url, secretRef: { name: 'openai-creds' }, allowedNamespaces: ['team-a'] },
  });
  await sys.startOperator('op-a');
});

after(async () => {
  for (const s of sidecars) await s.stop();
  await mock?.close();
  await sys?.stop();
});

describe('operator on a real control plane', () => {
  test('a RoutingPolicy is reconciled to Ready with its refs resolved', async () => {
    await apply(policy('strong'));
    const rp = await eventually(async () => {
      const o = await getJSON(['routingpolicy', 'support-bot', '-n', 'team-a']);
      return o.status?.conditions?.find((c: any) => c.type === 'Ready')?.status === 'True' ? o : undefined;
    }, 30_000);
    assert.equal(rp.status.observedGeneration, rp.metadata.generation);
    assert.equal(rp.status.conditions.find((c: any) => c.type === 'ResolvedRefs').status, 'True');
    const pk = await getJSON(['providerkey', 'openai', '-n', OP_NS]);
    assert.equal(pk.status.conditions.find((c: any) => c.type === 'SecretResolved').status, 'True');
  });

  test('the operator keeps the webhook caBundle current', async () => {
    await eventually(async () => (await getJSON(['mutatingwebhookconfiguration', WEBHOOK])).webhooks.every((w: any) => w.clientConfig.caBundle), 30_000);
  });

  test('a pod created through the apiserver comes back injected; its sidecar gets config and serves', async () => {
    const pod = await createPod('bot-1');
    const sc = pod.spec!.initContainers![0]!;
    assert.equal(sc.name, 'triage-sidecar');
    assert.equal(sc.restartPolicy, 'Always');
    assert.ok(pod.metadata!.annotations!['triage.dev/status']);
    assert.equal(pod.spec!.containers[0]!.env!.find((e) => e.name === 'OPENAI_BASE_URL')!.value, `http://127.0.0.1:${sys.sidecarPorts.proxy}/v1`);

    const sidecar = await runContainer(sys.cp, pod, sc);
    sidecars.push(sidecar);
    await eventually(async () => (await fetch(`http://127.0.0.1:${sys.sidecarPorts.admin}/readyz`).catch(() => undefined))?.ok, 20_000);
    const client = new OpenAI({ apiKey: 'x', baseURL: proxyURL(), maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    assert.equal(r.data.choices[0]!.message.content, 'echo: hello');
    assert.equal(r.response.headers.get('x-triage-upstream-model'), 'gpt-4o');
    assert.equal(mock.requests.at(-1)!.headers.authorization, 'Bearer sk-fake-test-key-0000');

    const rp = await eventually(async () => {
      const o = await getJSON(['routingpolicy', 'support-bot', '-n', 'team-a']);
      return o.status?.sidecars?.inSync === 1 ? o : undefined;
    }, 20_000);
    assert.equal(rp.status.sidecars.connected, 1);
  });

  test('a policy edit reaches the sidecar within a second', async () => {
    const client = new OpenAI({ apiKey: 'x', baseURL: proxyURL(), maxRetries: 0 });
    const t0 = Date.now();
    await apply(policy('weak'));
    await eventually(async () => {
      const r = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'x' }] }).withResponse();
      return r.response.headers.get('x-triage-upstream-model') === 'gpt-4o-mini';
    }, 5_000);
    const took = Date.now() - t0;
    assert.ok(took < 1500, `propagation took ${took} ms`);
  });

  test('a config the sidecar rejects is NACKed; the old config keeps serving; status says why', async () => {
    // "auto" is a valid object name for the apiserver but reserved in the sidecar: a real NACK path.
    await apply(policy('strong', 'auto'));
    const rp = await eventually(async () => {
      const o = await getJSON(['routingpolicy', 'auto', '-n', 'team-a']);
      return o.status?.sidecars?.nacks?.length ? o : undefined;
    }, 20_000);
    assert.match(rp.status.sidecars.nacks[0].reason, /reserved/);
    assert.equal(rp.status.conditions.find((c: any) => c.type === 'Ready').reason, 'SidecarRejected');
    const client = new OpenAI({ apiKey: 'x', baseURL: proxyURL(), maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    assert.equal(r.response.headers.get('x-triage-upstream-model'), 'gpt-4o-mini');
    await kubectlOK(sys.cp, ['delete', 'routingpolicy', 'auto', '-n', 'team-a']);
  });

  test('the operator is killed; the sidecar keeps serving, reconnects to its successor and is in sync', async () => {
    await sys.operators[0]!.stop('SIGKILL');
    const client = new OpenAI({ apiKey: 'x', baseURL: proxyURL(), maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'still here' }] });
    assert.equal(r.choices[0]!.message.content, 'echo: still here');
    await sys.startOperator('op-b');
    await apply(policy('strong'));
    await eventually(async () => {
      const res = await client.chat.completions.create({ model: 'support-bot', messages: [{ role: 'user', content: 'x' }] }).withResponse();
      return res.response.headers.get('x-triage-upstream-model') === 'gpt-4o';
    }, 40_000);
    await eventually(async () => (await getJSON(['routingpolicy', 'support-bot', '-n', 'team-a'])).status?.sidecars?.inSync === 1, 40_000);
  });

  test('a pod no policy selects is admitted without a sidecar, with the reason recorded', async () => {
    const pod = await createPod('lonely', { app: 'nobody' });
    assert.equal(pod.spec!.initContainers, undefined);
    assert.match(pod.metadata!.annotations!['triage.dev/inject-skipped']!, /ConfigNotReady/);
  });
});

async function createPod(name: string, labels: Record<string, string> = { app: 'bot' }): Promise<V1Pod> {
  await apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'team-a', labels }, spec: { containers: [{ name: 'app', image: 'bot:1' }] } });
  return getJSON(['pod', name, '-n', 'team-a']);
}
