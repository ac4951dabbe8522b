// Admission latency of the operator's webhook, called directly: POST /mutate with an AdmissionReview, over
// one HTTP/2 connection as the apiserver does (Go's client negotiates h2 with the operator's listener).

import { randomUUID } from 'node:crypto';
import { connect, constants } from 'node:http2';

/** A pod as the apiserver hands it to a mutating webhook: defaulted, with the service-account volume. */
export function admissionReview(namespace: string, name: string, labels: Record<string, string>): string {
  const pod = {
    kind: 'Pod', apiVersion: 'v1',
    metadata: { name, namespace, uid: randomUUID(), creationTimestamp: null, labels },
    spec: {
      volumes: [{
        name: 'kube-api-access-abcde',
        projected: {
          sources: [
            { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
            { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
            { downwardAPI: { items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }] } },
          ],
          defaultMode: 420,
        },
      }],
      containers: [{
        name: 'app', image: 'bench-app:1', ports: [{ containerPort: 8080, protocol: 'TCP' }], resources: {},
        volumeMounts: [{ name: 'kube-api-access-abcde', readOnly: true, mountPath: '/var/run/secrets/kubernetes.io/serviceaccount' }],
        terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent',
      }],
      restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst',
      serviceAccountName: 'default', serviceAccount: 'default', securityContext: {}, schedulerName: 'default-scheduler',
      tolerations: [
        { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
      ],
      priority: 0, enableServiceLinks: true, preemptionPolicy: 'PreemptLowerPriority',
    },
    status: {},
  };
  return JSON.stringify({
    kind: 'AdmissionReview', apiVersion: 'admission.k8s.io/v1',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      name, namespace, operation: 'CREATE',
      userInfo: { username: 'admin', groups: ['system:masters', 'system:authenticated'] },
      object: pod, oldObject: null, dryRun: false,
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
    },
  });
}

export interface WebhookRun { concurrency: number; ratePerSec: number | null; requests: number; ms: number[]; injected: number; errors: number; elapsedMs: number }

/**
 * `total` admissions, at most `concurrency` in flight, over one HTTP/2 connection. Without a rate it is a
 * closed loop (each slot sends again as soon as it has an answer: saturation); with one, request i is
 * sent at start + i/rate (or as soon as a slot frees up), and latency is counted from sending.
 */
export async function runWebhook(url: string, caPEM: string, bodies: string[], total: number, concurrency: number, ratePerSec?: number): Promise<WebhookRun> {
  const session = connect(url, { ca: caPEM });
  await new Promise<void>((resolve, reject) => { session.once('connect', () => resolve()); session.once('error', reject); });
  const ms: number[] = [];
  let injected = 0;
  let errors = 0;
  let next = 0;
  const one = (body: string) => new Promise<void>((resolve) => {
    const t0 = performance.now();
    const req = session.request({
      [constants.HTTP2_HEADER_METHOD]: 'POST', [constants.HTTP2_HEADER_PATH]: '/mutate?timeout=5s',
      [constants.HTTP2_HEADER_CONTENT_TYPE]: 'application/json', 'content-length': Buffer.byteLength(body),
    });
    let status = 0;
    let text = '';
    req.setEncoding('utf8');
    req.on('response', (h) => { status = Number(h[constants.HTTP2_HEADER_STATUS]); });
    req.on('data', (d: string) => { text += d; });
    req.on('end', () => {
      ms.push(performance.now() - t0);
      if (status !== 200) errors++;
      else if (JSON.parse(text).response?.patchType === 'JSONPatch') injected++;
      resolve();
    });
    req.on('error', () => { errors++; resolve(); });
    req.end(body);
  });
  const t0 = performance.now();
  const worker = async () => {
    while (next < total) {
      const i = next++;
      if (ratePerSec) {
        const wait = t0 + (i * 1000) / ratePerSec - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      }
      await one(bodies[i % bodies.length]!);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedMs = performance.now() - t0;
  session.close();
  return { concurrency, ratePerSec: ratePerSec ?? null, requests: total, ms, injected, errors, elapsedMs };
}
