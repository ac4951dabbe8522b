// The objects the benchmark creates through the apiserver: namespaces (opted in to injection), one
// ProviderKey + Secret every namespace may use, RoutingPolicies that each select a distinct group of pods,
// the pods themselves (created through the apiserver, so through the operator's webhook), and a
// pod-bound service-account token per pod (TokenRequest API).

import { TOKEN_AUDIENCE } from '../../../api/configStream.ts';
import { pool, retry, type Api } from './kube.ts';

export const GROUP_LABEL = 'bench.triage.dev/group';
export const KEY_NAMESPACE = 'triage-system';
export const KEY_NAME = 'bench-key';

export interface Layout { namespaces: number; policiesPerNamespace: number; podsPerPolicy: number }

export interface PolicyRef { namespace: string; name: string; group: string }
export interface PodRef { namespace: string; name: string; uid: string; policy: string; injected: boolean; createMs: number }

export const nsName = (i: number) => `bench-${String(i).padStart(2, '0')}`;
export const policyName = (j: number) => `policy-${String(j).padStart(3, '0')}`;

export function policies(l: Layout): PolicyRef[] {
  const out: PolicyRef[] = [];
  for (let i = 0; i < l.namespaces; i++) {
    for (let j = 0; j < l.policiesPerNamespace; j++) out.push({ namespace: nsName(i), name: policyName(j), group: `g${j}` });
  }
  return out;
}

export async function createNamespaces(api: Api, names: string[], caPEM: string, labels: Record<string, string>): Promise<void> {
  // What test/controlplane/cluster.ts createNamespace() does with kubectl, over REST: without a
  // controller-manager nobody creates the `default` ServiceAccount pods (and TokenRequests) need.
  await pool(names, 8, async (name) => {
    await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
    await api.request('POST', `/api/v1/namespaces/${name}/serviceaccounts`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
    await api.request('POST', `/api/v1/namespaces/${name}/configmaps`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-root-ca.crt' }, data: { 'ca.crt': caPEM } });
  });
}

export async function createProviderKey(api: Api): Promise<void> {
  await api.request('POST', `/api/v1/namespaces/${KEY_NAMESPACE}/secrets`, {
    apiVersion: 'v1', kind: 'Secret', metadata: { name: 'bench-creds' }, stringData: { apiKey: 'sk-bench-0000000000000000' },
  });
  await api.request('POST', `/apis/triage.dev/v1alpha1/namespaces/${KEY_NAMESPACE}/providerkeys`, {
    apiVersion: 'triage.dev/v1alpha1', kind: 'ProviderKey', metadata: { name: KEY_NAME },
    spec: { provider: 'openai', baseURL: 'http://127.0.0.1:9/v1', secretRef: { name: 'bench-creds' }, allowedNamespaces: ['*'] },
  });
}

/** The policy's spec; `marker` is the first deployment's model, which updates rewrite. */
export function policySpec(group: string, marker: string): unknown {
  const key = `${KEY_NAMESPACE}/${KEY_NAME}`;
  return {
    selector: { matchLabels: { [GROUP_LABEL]: group } },
    models: [
      { name: 'strong', deployments: [{ providerKey: key, model: marker }] },
      { name: 'weak', deployments: [{ providerKey: key, model: 'gpt-4o-mini' }] },
    ],
    router: { type: 'fixed', target: 'strong' },
  };
}

export async function createPolicies(api: Api, ps: PolicyRef[]): Promise<void> {
  await pool(ps, 16, (p) => retry(() => api.request('POST', `/apis/triage.dev/v1alpha1/namespaces/${p.namespace}/routingpolicies`, {
    apiVersion: 'triage.dev/v1alpha1', kind: 'RoutingPolicy', metadata: { name: p.name }, spec: policySpec(p.group, 'm-initial'),
  })));
}

/** A RoutingPolicy update: rewrites the marker with a JSON patch; resolves when the apiserver answered. */
export function updatePolicy(api: Api, p: PolicyRef, marker: string): Promise<unknown> {
  return api.request('PATCH', `/apis/triage.dev/v1alpha1/namespaces/${p.namespace}/routingpolicies/${p.name}`,
    [{ op: 'replace', path: '/spec/models/0/deployments/0/model', value: marker }], 'application/json-patch+json');
}

export function podManifest(namespace: string, name: string, group: string): any {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace, labels: { app: 'bench', [GROUP_LABEL]: group } },
    spec: { containers: [{ name: 'app', image: 'bench-app:1', ports: [{ containerPort: 8080 }] }] },
  };
}

/** Creates every pod through the apiserver (which calls the operator's webhook), `concurrency` at a time. */
export async function createPods(api: Api, ps: PolicyRef[], perPolicy: number, concurrency: number): Promise<PodRef[]> {
  const specs = ps.flatMap((p) => Array.from({ length: perPolicy }, (_, k) => ({ p, name: `${p.name}-pod-${k}` })));
  return pool(specs, concurrency, async ({ p, name }) => {
    const t0 = performance.now();
    const pod = await retry(() => api.request<any>('POST', `/api/v1/namespaces/${p.namespace}/pods`, podManifest(p.namespace, name, p.group)));
    const createMs = performance.now() - t0;
    let injected = pod.metadata?.labels?.['triage.dev/sidecar'] === 'injected';
    if (!injected) {
      // failurePolicy Ignore let it through uninjected (webhook timeout or error): label it so the operator
      // still watches it, and count it.
      await api.request('PATCH', `/api/v1/namespaces/${p.namespace}/pods/${name}`, { metadata: { labels: { 'triage.dev/sidecar': 'injected' } } }, 'application/merge-patch+json');
    }
    return { namespace: p.namespace, name, uid: pod.metadata.uid, policy: `${p.namespace}/${p.name}`, injected, createMs };
  });
}

/** Pod creation latency with dryRun=All (webhooks still called, nothing stored), one at a time. */
export async function dryRunPodCreates(api: Api, namespace: string, group: string, n: number): Promise<{ ms: number[]; injected: number }> {
  const ms: number[] = [];
  let injected = 0;
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const pod = await api.request<any>('POST', `/api/v1/namespaces/${namespace}/pods?dryRun=All`, podManifest(namespace, `dry-${i}`, group));
    ms.push(performance.now() - t0);
    if (pod.metadata?.labels?.['triage.dev/sidecar'] === 'injected') injected++;
  }
  return { ms, injected };
}

/** A pod-bound token per pod, for the config stream's audience. */
export async function requestTokens(api: Api, pods: PodRef[], concurrency: number): Promise<string[]> {
  return pool(pods, concurrency, async (p) => {
    const tr = await retry(() => api.request<any>('POST', `/api/v1/namespaces/${p.namespace}/serviceaccounts/default/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      spec: { audiences: [TOKEN_AUDIENCE], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: p.name, uid: p.uid } },
    }));
    return tr.status.token as string;
  });
}
