// The injector against golden patches, plus idempotence: a patched pod injected again is left alone.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { ANNOTATION_SKIPPED, ANNOTATION_STATUS, inject, SIDECAR_NAME, type InjectSettings } from '../../../operator/inject.ts';
import { applyPatch } from '../../helpers/jsonPatch.ts';
import { assertGolden } from '../golden.ts';

const settings: InjectSettings = {
  image: 'ghcr.io/triage-dev/triage:0.1.0',
  proxyPort: 4000,
  adminPort: 4001,
  operatorURL: 'https://triage-operator.triage-system.svc:8443',
  caPEM: '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n',
  tokenAudience: 'triage.dev/operator',
  tokenExpirationSeconds: 3600,
  resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
};

const optedIn = { 'triage.dev/inject': 'enabled' };

const plainPod = (): V1Pod => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'bot', namespace: 'team-a', labels: { app: 'support-bot' } },
  spec: { containers: [{ name: 'app', image: 'support-bot:1' }] },
});

const busyPod = (): V1Pod => ({
  apiVersion: 'v1', kind: 'Pod',
  metadata: { name: 'bot', namespace: 'team-a', labels: { app: 'support-bot' }, annotations: { 'team/owner': 'a' } },
  spec: {
    initContainers: [{ name: 'migrate', image: 'migrate:1' }],
    containers: [
      { name: 'app', image: 'support-bot:1', env: [{ name: 'OPENAI_BASE_URL', value: 'https://my-gateway/v1' }, { name: 'LOG', value: 'debug' }] },
      { name: 'worker', image: 'worker:1' },
    ],
    volumes: [{ name: 'cache', emptyDir: {} }],
  },
});

describe('inject', () => {
  test('a plain pod in an opted-in namespace', () => {
    const r = inject({ pod: plainPod(), namespaceLabels: optedIn, configReady: true }, settings);
    assert.equal(r.report.action, 'injected');
    assertGolden('inject/plain-pod.patch.json', r.patch);
  });

  test('a pod with init containers, volumes and its own base URL keeps them', () => {
    const r = inject({ pod: busyPod(), namespaceLabels: optedIn, configReady: true }, settings);
    assertGolden('inject/busy-pod.patch.json', r.patch);
    const out = applyPatch(busyPod(), r.patch);
    assert.deepEqual(out.spec!.initContainers!.map((c) => c.name), [SIDECAR_NAME, 'migrate']);
    assert.deepEqual(out.spec!.volumes!.map((v) => v.name), ['cache', 'triage-token']);
    const appEnv = Object.fromEntries(out.spec!.containers[0]!.env!.map((e) => [e.name, e.value]));
    assert.equal(appEnv.OPENAI_BASE_URL, 'https://my-gateway/v1', 'an app\'s own setting wins');
    assert.equal(appEnv.ANTHROPIC_BASE_URL, 'http://127.0.0.1:4000');
    assert.equal(out.metadata!.annotations!['team/owner'], 'a');
  });

  test('the sidecar is a hardened native sidecar with probes on the admin port', () => {
    const out = applyPatch(plainPod(), inject({ pod: plainPod(), namespaceLabels: optedIn, configReady: true }, settings).patch);
    const c = out.spec!.initContainers![0]!;
    assert.equal(c.restartPolicy, 'Always');
    assert.equal(c.readinessProbe!.httpGet!.path, '/readyz');
    assert.equal(c.readinessProbe!.httpGet!.port, 4001);
    assert.equal(c.securityContext!.runAsNonRoot, true);
    assert.equal(c.securityContext!.readOnlyRootFilesystem, true);
    assert.deepEqual(c.securityContext!.capabilities!.drop, ['ALL']);
    assert.ok(c.args!.includes('127.0.0.1:4000'));
    const vol = out.spec!.volumes!.find((v) => v.name === 'triage-token')!;
    assert.equal(vol.projected!.sources![0]!.serviceAccountToken!.audience, 'triage.dev/operator');
  });

  test('idempotent: injecting an injected pod changes nothing', () => {
    for (const pod of [plainPod(), busyPod()]) {
      const once = applyPatch(pod, inject({ pod, namespaceLabels: optedIn, configReady: true }, settings).patch);
      const again = inject({ pod: once, namespaceLabels: optedIn, configReady: true }, settings);
      assert.deepEqual(again.patch, []);
      assert.equal(again.report.action === 'skipped' && again.report.reason, 'AlreadyInjected');
      assert.ok(JSON.parse(once.metadata!.annotations![ANNOTATION_STATUS]!).env.app);
    }
  });

  test('opt-in by pod annotation; opt-out by annotation wins over the namespace', () => {
    const pod = plainPod();
    pod.metadata!.annotations = { 'triage.dev/inject': 'true' };
    assert.equal(inject({ pod, namespaceLabels: {}, configReady: true }, settings).report.action, 'injected');
    pod.metadata!.annotations = { 'triage.dev/inject': 'false' };
    const r = inject({ pod, namespaceLabels: optedIn, configReady: true }, settings);
    assert.deepEqual(r.patch, []);
    assert.equal(r.report.action === 'skipped' && r.report.reason, 'OptedOut');
    const labelled = plainPod();
    labelled.metadata!.labels!['triage.dev/inject'] = 'enabled';
    assert.equal(inject({ pod: labelled, namespaceLabels: {}, configReady: true }, settings).report.action, 'injected');
    const r2 = inject({ pod: plainPod(), namespaceLabels: {}, configReady: true }, settings);
    assert.equal(r2.report.action === 'skipped' && r2.report.reason, 'NotOptedIn');
    assert.deepEqual(r2.patch, []);
  });

  test('no config yet: skipped with a reason recorded on the pod, never blocking it', () => {
    const r = inject({ pod: plainPod(), namespaceLabels: optedIn, configReady: false, notReadyReason: 'no RoutingPolicy selects app=support-bot' }, settings);
    assert.deepEqual(r.patch, [{ op: 'add', path: '/metadata/annotations', value: { [ANNOTATION_SKIPPED]: 'ConfigNotReady: no RoutingPolicy selects app=support-bot' } }]);
  });

  test('host-network pods are skipped', () => {
    const pod = plainPod();
    pod.spec!.hostNetwork = true;
    assert.equal(inject({ pod, namespaceLabels: optedIn, configReady: true }, settings).report.action, 'skipped');
  });
});
