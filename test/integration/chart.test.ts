// The Helm chart (charts/triage): helm lint, the rendered objects against what the operator's code
// needs (flags, names, ports, the injection settings, the webhook's selectors against the injector's
// opt-in rules), least-privilege RBAC compared rule by rule, the values schema, and an install on a real
// kube-apiserver with `kubectl auth can-i` for every permission the operator needs and some it must not
// have.
//
// Needs helm, kube-apiserver, etcd and kubectl from `make controlplane`. Without them the suite fails
// with "... run make controlplane" -- it does not skip.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadAll } from 'js-yaml';
import { TOKEN_AUDIENCE } from '../../api/configStream.ts';
import { serviceDNSNames } from '../../operator/certs.ts';
import { inject, NAMESPACE_LABEL, LABEL_SIDECAR, type InjectSettings } from '../../operator/inject.ts';
import { kubectlOK, startControlPlane, type ControlPlane } from '../controlplane/cluster.ts';
import { CHART_DIR, ROOT, findObject, helm, helmBinary, helmTemplate, renderChart, type K8sObject } from '../helpers/chart.ts';

const NS = 'triage-system';
const SA = `system:serviceaccount:${NS}:triage-operator`;
const ALL_OPTIONS = { 'certManager.enabled': true, 'serviceMonitor.enabled': true, 'grafana.dashboard.enabled': true };

/** One permission: apiGroup/resource verb, on every object or on one name. */
const perm = (group: string, resource: string, verb: string, name = '*') => `${group || 'core'}/${resource} ${verb} ${name}`;

/** A Role's or ClusterRole's rules flattened to permissions, so that any broadening shows as a difference. */
function permissions(role: K8sObject): string[] {
  const out: string[] = [];
  for (const r of role.rules as { apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }[]) {
    for (const g of r.apiGroups) for (const res of r.resources) for (const v of r.verbs) for (const n of r.resourceNames ?? ['*']) out.push(perm(g, res, v, n));
  }
  return out.sort();
}

const expand = (group: string, resources: string[], verbs: string[], name?: string) =>
  resources.flatMap((r) => verbs.map((v) => perm(group, r, v, name)));

/** What the operator's code calls (see the comments in templates/rbac.yaml). */
const EXPECTED_CLUSTER_ROLE = [
  ...expand('triage.dev', ['routingpolicies', 'providerkeys'], ['get', 'list', 'watch']),
  ...expand('triage.dev', ['routingpolicies/status', 'providerkeys/status'], ['patch']),
  ...expand('', ['secrets'], ['get']),
  ...expand('', ['pods'], ['get', 'list', 'watch']),
  ...expand('', ['namespaces'], ['get', 'list', 'watch']),
  ...expand('', ['events'], ['create']),
  ...expand('authentication.k8s.io', ['tokenreviews'], ['create']),
  ...expand('admissionregistration.k8s.io', ['mutatingwebhookconfigurations'], ['get', 'patch'], 'triage-sidecar-injector'),
].sort();

const EXPECTED_ROLE = [
  ...expand('coordination.k8s.io', ['leases'], ['create']),
  ...expand('coordination.k8s.io', ['leases'], ['get', 'update'], 'triage-operator-leader'),
  ...expand('', ['configmaps'], ['get', 'list', 'watch', 'create', 'patch', 'delete']),
  ...expand('', ['secrets'], ['create']),
  ...expand('', ['secrets'], ['update'], 'triage-operator-tls'),
].sort();

function noWildcards(objects: K8sObject[]): void {
  for (const role of objects.filter((o) => o.kind === 'Role' || o.kind === 'ClusterRole')) {
    for (const rule of role.rules) {
      for (const field of ['apiGroups', 'resources', 'verbs', 'resourceNames', 'nonResourceURLs']) {
        for (const v of rule[field] ?? []) assert.ok(!String(v).includes('*'), `${role.kind} ${role.metadata.name}: wildcard in ${field}: ${JSON.stringify(rule)}`);
      }
    }
    assert.equal(role.aggregationRule, undefined, `${role.kind} ${role.metadata.name} aggregates other roles`);
  }
}

/** Kubernetes label-selector semantics (matchLabels and matchExpressions). */
function selects(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined, labels: Record<string, string>): boolean {
  if (!sel) return true;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const ok = e.operator === 'In' ? has && e.values!.includes(labels[e.key]!)
      : e.operator === 'NotIn' ? !has || !e.values!.includes(labels[e.key]!)
        : e.operator === 'Exists' ? has
          : e.operator === 'DoesNotExist' ? !has
            : assert.fail(`unknown operator ${e.operator}`);
    if (!ok) return false;
  }
  return true;
}

const container = (deploy: K8sObject) => deploy.spec.template.spec.containers[0];
/** The value following a flag in the operator's args. */
function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
}

describe('chart: helm lint', () => {
  it('finds helm (built by make controlplane)', () => {
    const bin = helmBinary(); // throws "helm not found at ...: run make controlplane"
    const r = helm(['version', '--short']);
    assert.equal(r.code, 0, `${bin} version: ${r.stderr}`);
  });

  for (const [label, sets] of [['default values', {}], ['cert-manager, ServiceMonitor, dashboard', ALL_OPTIONS]] as const) {
    it(`passes helm lint and helm lint --strict with ${label}`, () => {
      const setArgs = Object.entries(sets).flatMap(([k, v]) => ['--set', `${k}=${v}`]);
      for (const strict of [[], ['--strict']]) {
        const r = helm(['lint', CHART_DIR, '--namespace', NS, ...strict, ...setArgs]);
        assert.equal(r.code, 0, `helm lint ${strict.join(' ')} failed:\n${r.stdout}${r.stderr}`);
        assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
        assert.doesNotMatch(r.stdout, /\[(WARNING|ERROR)\]/, r.stdout);
      }
    });
  }
});

describe('chart: CRDs', () => {
  it('charts/triage/crds/ holds exact copies of crds/ (copy them over after `make crds`)', () => {
    const repo = readdirSync(join(ROOT, 'crds')).filter((f) => f.endsWith('.yaml')).sort();
    const chart = readdirSync(join(CHART_DIR, 'crds')).sort();
    assert.deepEqual(chart, repo, 'charts/triage/crds/ and crds/ hold different files');
    const stale: string[] = [];
    for (const f of repo) {
      const [a, b] = [readFileSync(join(CHART_DIR, 'crds', f), 'utf8').split('\n'), readFileSync(join(ROOT, 'crds', f), 'utf8').split('\n')];
      const line = a.findIndex((l, i) => l !== b[i]);
      if (line >= 0 || a.length !== b.length) stale.push(`${f} from line ${(line >= 0 ? line : Math.min(a.length, b.length)) + 1}: chart has ${JSON.stringify(a[line] ?? '')}, crds/ has ${JSON.stringify(b[line] ?? '')}`);
    }
    assert.deepEqual(stale, [], 'charts/triage/crds/ is stale; run: cp crds/*.yaml charts/triage/crds/');
  });

  it('helm template --include-crds renders the same CRDs as crds/', () => {
    const rendered = renderChart({}, { includeCrds: true }).filter((o) => o.kind === 'CustomResourceDefinition');
    const repo = readdirSync(join(ROOT, 'crds')).filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => loadAll(readFileSync(join(ROOT, 'crds', f), 'utf8')) as K8sObject[]);
    const byName = (l: K8sObject[]) => Object.fromEntries(l.map((o) => [o.metadata.name, o]));
    assert.deepEqual(byName(rendered), byName(repo));
  });
});

describe('chart: rendered objects (default values)', () => {
  let objs: K8sObject[];
  let deploy: K8sObject;
  let args: string[];
  before(() => {
    objs = renderChart();
    deploy = findObject(objs, 'Deployment');
    args = container(deploy).args;
  });

  it('every namespaced object is in the release namespace and the names are the operator defaults', () => {
    for (const o of objs) {
      const clusterScoped = ['ClusterRole', 'ClusterRoleBinding', 'MutatingWebhookConfiguration'].includes(o.kind);
      assert.equal(o.metadata.namespace, clusterScoped ? undefined : NS, `${o.kind}/${o.metadata.name}`);
    }
    assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'ClusterRole/triage-operator', 'ClusterRoleBinding/triage-operator', 'ConfigMap/triage-inject',
      'Deployment/triage-operator', 'MutatingWebhookConfiguration/triage-sidecar-injector', 'NetworkPolicy/triage-operator',
      'PodDisruptionBudget/triage-operator', 'Role/triage-operator', 'RoleBinding/triage-operator',
      'Service/triage-operator', 'ServiceAccount/triage-operator',
    ]);
  });

  it('the Deployment runs 2 replicas of `triage operator` with every name the other objects use', () => {
    assert.equal(deploy.spec.replicas, 2);
    assert.equal(deploy.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const c = container(deploy);
    assert.equal(c.image, 'ghcr.io/triage-dev/triage:0.1.0');
    assert.equal(c.command, undefined, 'the image ENTRYPOINT (/app/bin/triage) runs; args start with the subcommand');
    assert.equal(args[0], 'operator');
    assert.equal(flag(args, '--namespace'), '$(POD_NAMESPACE)');
    assert.equal(flag(args, '--identity'), '$(POD_NAME)');
    assert.equal(flag(args, '--listen'), '0.0.0.0:8443');
    assert.equal(flag(args, '--metrics-listen'), '0.0.0.0:8080');
    assert.equal(flag(args, '--service-name'), findObject(objs, 'Service').metadata.name);
    assert.equal(flag(args, '--webhook-config'), findObject(objs, 'MutatingWebhookConfiguration').metadata.name);
    assert.equal(flag(args, '--tls-secret'), 'triage-operator-tls');
    assert.equal(flag(args, '--tls-dir'), undefined);
    assert.equal(flag(args, '--sidecar-operator-url'), `https://triage-operator.${NS}.svc:443`);
    assert.equal(deploy.spec.template.spec.serviceAccountName, findObject(objs, 'ServiceAccount').metadata.name);
    const env = Object.fromEntries((c.env as { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[]).map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath]));
    assert.equal(env.POD_NAME, 'metadata.name');
    assert.equal(env.POD_NAMESPACE, 'metadata.namespace');
  });

  it('every flag the Deployment passes is one `triage operator` knows', () => {
    const usage = readFileSync(join(ROOT, 'operator', 'cli.ts'), 'utf8');
    for (const a of args.filter((x) => x.startsWith('--'))) assert.match(usage, new RegExp(`^  ${a} `, 'm'), `operator/cli.ts has no flag ${a}`);
  });

  it('probes on 8080, ports, resources', () => {
    const c = container(deploy);
    const ports = Object.fromEntries((c.ports as { name: string; containerPort: number }[]).map((p) => [p.name, p.containerPort]));
    assert.deepEqual(ports, { https: 8443, metrics: 8080 });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'metrics' });
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'metrics' });
    assert.ok(c.startupProbe?.httpGet, 'a startup probe');
    assert.ok(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, 'requests and a memory limit');
  });

  it('a restricted security context: non-root, read-only root, no capabilities, RuntimeDefault seccomp', () => {
    const c = container(deploy);
    const pod = deploy.spec.template.spec;
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.equal(c.securityContext.runAsNonRoot, true);
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
    assert.equal(c.securityContext.capabilities.add, undefined);
    assert.equal(c.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.notEqual(pod.hostNetwork, true);
  });

  it('replicas are spread over nodes, and a PodDisruptionBudget keeps one', () => {
    const pod = deploy.spec.template.spec;
    const podLabels = deploy.spec.template.metadata.labels;
    const spread = pod.topologySpreadConstraints[0];
    assert.equal(spread.topologyKey, 'kubernetes.io/hostname');
    assert.ok(selects(spread.labelSelector, podLabels));
    const anti = pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].podAffinityTerm;
    assert.equal(anti.topologyKey, 'kubernetes.io/hostname');
    assert.ok(selects(anti.labelSelector, podLabels));
    const pdb = findObject(objs, 'PodDisruptionBudget');
    assert.equal(pdb.spec.minAvailable, 1);
    assert.ok(selects(pdb.spec.selector, podLabels), 'the PDB selects the operator pods');
    assert.ok(selects(deploy.spec.selector, podLabels));
  });

  it('the injection settings: a ConfigMap mounted where --inject-settings points, with the operator\'s audience', () => {
    const cm = findObject(objs, 'ConfigMap', 'triage-inject');
    const path = flag(args, '--inject-settings')!;
    const mount = container(deploy).volumeMounts.find((m: { mountPath: string }) => path.startsWith(`${m.mountPath}/`));
    assert.ok(mount, `no volume mounted at ${path}'s directory`);
    const vol = deploy.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
    assert.equal(vol.configMap.name, cm.metadata.name);
    const settings = JSON.parse(cm.data[path.slice(mount.mountPath.length + 1)]) as Partial<InjectSettings>;
    assert.deepEqual(settings, {
      image: 'ghcr.io/triage-dev/triage:0.1.0', imagePullPolicy: 'IfNotPresent', proxyPort: 4000, adminPort: 4001,
      tokenAudience: TOKEN_AUDIENCE, tokenExpirationSeconds: 3600, logLevel: 'info',
      resources: { requests: { cpu: '50m', memory: '64Mi' }, limits: { memory: '256Mi' } },
    });
    assert.ok(deploy.spec.template.metadata.annotations['checksum/inject-settings'], 'a settings change rolls the operator');
    const changed = findObject(renderChart({ 'sidecar.logLevel': 'debug' }), 'Deployment');
    assert.notEqual(changed.spec.template.metadata.annotations['checksum/inject-settings'], deploy.spec.template.metadata.annotations['checksum/inject-settings']);
  });

  it('the Service maps 443 to the webhook/stream port and exposes metrics', () => {
    const svc = findObject(objs, 'Service');
    assert.ok(selects({ matchLabels: svc.spec.selector }, deploy.spec.template.metadata.labels));
    const ports = Object.fromEntries((svc.spec.ports as { name: string; port: number; targetPort: string }[]).map((p) => [p.name, [p.port, p.targetPort]]));
    assert.deepEqual(ports, { https: [443, 'https'], metrics: [8080, 'metrics'] });
  });

  it('the webhook: two pod CREATE entries calling /mutate on port 443, as the values say', () => {
    const wh = findObject(objs, 'MutatingWebhookConfiguration');
    assert.equal(wh.webhooks.length, 2);
    for (const w of wh.webhooks) {
      assert.deepEqual(w.clientConfig, { service: { name: 'triage-operator', namespace: NS, path: '/mutate', port: 443 } }, 'no caBundle: the operator fills it');
      assert.deepEqual(w.rules, [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['pods'], scope: 'Namespaced' }]);
      assert.equal(w.failurePolicy, 'Ignore');
      assert.equal(w.sideEffects, 'NoneOnDryRun');
      assert.equal(w.reinvocationPolicy, 'IfNeeded');
      assert.equal(w.timeoutSeconds, 5);
      assert.deepEqual(w.admissionReviewVersions, ['v1']);
      assert.ok(selects(w.namespaceSelector, { 'kubernetes.io/metadata.name': 'apps', [NAMESPACE_LABEL]: 'enabled' }) || selects(w.objectSelector, { [NAMESPACE_LABEL]: 'enabled' }));
    }
    const [byNs, byPod] = wh.webhooks;
    assert.deepEqual(byNs.namespaceSelector.matchExpressions[0], { key: NAMESPACE_LABEL, operator: 'In', values: ['enabled'] });
    assert.deepEqual(byPod.objectSelector.matchExpressions[0], { key: 'triage.dev/inject', operator: 'In', values: ['enabled', 'true'] });
    assert.equal(wh.metadata.annotations?.['cert-manager.io/inject-ca-from'], undefined);

    const fail = findObject(renderChart({ 'webhook.failurePolicy': 'Fail', 'webhook.timeoutSeconds': 10 }), 'MutatingWebhookConfiguration');
    assert.deepEqual(fail.webhooks.map((w: K8sObject) => [w.failurePolicy, w.timeoutSeconds]), [['Fail', 10], ['Fail', 10]]);
  });

  it('the webhook is called exactly for the pods the injector would inject, never in the release namespace or kube-system', () => {
    const wh = findObject(objs, 'MutatingWebhookConfiguration');
    const settings: InjectSettings = { image: 'i', proxyPort: 4000, adminPort: 4001, operatorURL: 'https://o', caPEM: 'ca', tokenAudience: TOKEN_AUDIENCE, tokenExpirationSeconds: 3600, resources: { requests: {}, limits: {} } };
    const cases: string[] = [];
    for (const ns of ['apps', NS, 'kube-system']) {
      for (const nsMark of [undefined, 'enabled', 'disabled', 'true']) {
        for (const podMark of [undefined, 'enabled', 'true', 'false', 'disabled', 'yes']) {
          const nsLabels: Record<string, string> = { 'kubernetes.io/metadata.name': ns, ...(nsMark ? { [NAMESPACE_LABEL]: nsMark } : {}) };
          const podLabels: Record<string, string> = { app: 'x', ...(podMark ? { 'triage.dev/inject': podMark } : {}) };
          const calls = wh.webhooks.filter((w: K8sObject) => selects(w.namespaceSelector, nsLabels) && selects(w.objectSelector, podLabels)).length;
          const pod = { metadata: { name: 'p', namespace: ns, labels: podLabels }, spec: { containers: [{ name: 'app', image: 'app' }] } };
          const injected = inject({ pod, namespaceLabels: nsLabels, configReady: true }, settings).report.action === 'injected';
          const want = injected && ns === 'apps' ? 1 : 0;
          if (calls !== want) cases.push(`ns ${ns} label=${nsMark} pod label=${podMark}: ${calls} webhook call(s), want ${want}`);
        }
      }
    }
    assert.deepEqual(cases, []);
  });

  it('the NetworkPolicy: 8443 from anywhere, 8080 from the monitoring namespace, egress to the apiserver', () => {
    const np = findObject(objs, 'NetworkPolicy');
    assert.ok(selects(np.spec.podSelector, deploy.spec.template.metadata.labels));
    assert.deepEqual(np.spec.policyTypes, ['Ingress', 'Egress']);
    const [stream, metrics] = np.spec.ingress;
    assert.deepEqual(stream, { ports: [{ port: 8443, protocol: 'TCP' }] });
    assert.deepEqual(metrics.ports, [{ port: 8080, protocol: 'TCP' }]);
    assert.deepEqual(metrics.from, [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: {} }]);
    assert.deepEqual(np.spec.egress, [{ ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] }]);
    const custom = findObject(renderChart({ 'networkPolicy.egress.apiserver.to[0].ipBlock.cidr': '10.0.0.1/32' }), 'NetworkPolicy');
    assert.deepEqual(custom.spec.egress[0].to, [{ ipBlock: { cidr: '10.0.0.1/32' } }]);
    assert.equal(renderChart({ 'networkPolicy.enabled': false }).filter((o) => o.kind === 'NetworkPolicy').length, 0);
  });
});

describe('chart: RBAC is least privilege', () => {
  it('the ClusterRole grants exactly what the operator calls', () => {
    const objs = renderChart();
    assert.deepEqual(permissions(findObject(objs, 'ClusterRole')), EXPECTED_CLUSTER_ROLE);
    const crb = findObject(objs, 'ClusterRoleBinding');
    assert.deepEqual(crb.roleRef, { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'triage-operator' });
    assert.deepEqual(crb.subjects, [{ kind: 'ServiceAccount', name: 'triage-operator', namespace: NS }]);
  });

  it('the Role in the release namespace grants exactly the Lease, session reports and TLS Secret writes', () => {
    const objs = renderChart();
    assert.deepEqual(permissions(findObject(objs, 'Role')), EXPECTED_ROLE);
    assert.deepEqual(findObject(objs, 'RoleBinding').subjects, [{ kind: 'ServiceAccount', name: 'triage-operator', namespace: NS }]);
  });

  it('no wildcard and no aggregation, in any configuration', () => {
    const variants: Record<string, string | boolean>[] = [{}, ALL_OPTIONS, { 'rbac.secretNamespaces': '{team-a,team-b}' }, { 'webhook.name': 'custom-injector' }];
    for (const sets of variants) noWildcards(renderChart(sets));
  });

  it('follows the webhook configuration and TLS Secret names', () => {
    const objs = renderChart({ 'webhook.name': 'custom-injector', 'tls.secretName': 'custom-tls' });
    assert.equal(findObject(objs, 'MutatingWebhookConfiguration').metadata.name, 'custom-injector');
    const args = container(findObject(objs, 'Deployment')).args;
    assert.equal(flag(args, '--webhook-config'), 'custom-injector');
    assert.equal(flag(args, '--tls-secret'), 'custom-tls');
    assert.ok(permissions(findObject(objs, 'ClusterRole')).includes(perm('admissionregistration.k8s.io', 'mutatingwebhookconfigurations', 'patch', 'custom-injector')));
    assert.ok(permissions(findObject(objs, 'Role')).includes(perm('', 'secrets', 'update', 'custom-tls')));
  });

  it('with cert-manager the operator writes no Secret', () => {
    const objs = renderChart({ 'certManager.enabled': true });
    assert.deepEqual(permissions(findObject(objs, 'ClusterRole')), EXPECTED_CLUSTER_ROLE);
    assert.deepEqual(permissions(findObject(objs, 'Role')), EXPECTED_ROLE.filter((p) => !p.startsWith('core/secrets ')));
  });

  it('rbac.secretNamespaces moves the Secret read from the ClusterRole to Roles in those namespaces', () => {
    const objs = renderChart({ 'rbac.secretNamespaces': '{team-a,team-b}' });
    assert.deepEqual(permissions(findObject(objs, 'ClusterRole')), EXPECTED_CLUSTER_ROLE.filter((p) => !p.startsWith('core/secrets ')));
    for (const ns of ['team-a', 'team-b']) {
      const role = objs.find((o) => o.kind === 'Role' && o.metadata.namespace === ns)!;
      assert.deepEqual(permissions(role), [perm('', 'secrets', 'get')]);
      const rb = objs.find((o) => o.kind === 'RoleBinding' && o.metadata.namespace === ns)!;
      assert.deepEqual([rb.roleRef.name, rb.subjects], [role.metadata.name, [{ kind: 'ServiceAccount', name: 'triage-operator', namespace: NS }]]);
    }
    const own = objs.find((o) => o.kind === 'Role' && o.metadata.namespace === NS)!;
    assert.deepEqual(permissions(own), [...EXPECTED_ROLE, perm('', 'secrets', 'get', 'triage-operator-tls')].sort());
  });
});

describe('chart: optional parts', () => {
  let objs: K8sObject[];
  before(() => { objs = renderChart({ ...ALL_OPTIONS, 'podMonitor.enabled': true }); });

  it('cert-manager: a CA chain, a serving Certificate for the Service names, mounted at --tls-dir', () => {
    const deploy = findObject(objs, 'Deployment');
    const args = container(deploy).args;
    assert.equal(flag(args, '--tls-dir'), '/etc/triage/tls');
    assert.equal(flag(args, '--tls-secret'), undefined);
    const certs = objs.filter((o) => o.kind === 'Certificate');
    const ca = certs.find((c) => c.spec.isCA)!;
    const serving = certs.find((c) => !c.spec.isCA)!;
    assert.ok(ca && serving, 'a CA and a serving Certificate');
    const issuers = objs.filter((o) => o.kind === 'Issuer');
    assert.ok(issuers.some((i) => i.spec.selfSigned && i.metadata.name === ca.spec.issuerRef.name), 'the CA is self-signed');
    assert.ok(issuers.some((i) => i.spec.ca?.secretName === ca.spec.secretName && i.metadata.name === serving.spec.issuerRef.name), 'the CA Issuer signs the serving Certificate');
    for (const name of serviceDNSNames('triage-operator', NS)) assert.ok(serving.spec.dnsNames.includes(name), `serving Certificate lacks ${name}`);
    const mount = container(deploy).volumeMounts.find((m: { mountPath: string }) => m.mountPath === '/etc/triage/tls');
    const vol = deploy.spec.template.spec.volumes.find((v: { name: string }) => v.name === mount.name);
    assert.equal(vol.secret.secretName, serving.spec.secretName);
    const wh = findObject(objs, 'MutatingWebhookConfiguration');
    assert.equal(wh.metadata.annotations?.['cert-manager.io/inject-ca-from'], `${NS}/${serving.metadata.name}`);
  });

  it('a ServiceMonitor for the operator and a PodMonitor for the sidecars', () => {
    const sm = findObject(objs, 'ServiceMonitor');
    const svc = findObject(objs, 'Service');
    assert.ok(selects(sm.spec.selector, svc.metadata.labels!), 'the ServiceMonitor selects the Service');
    assert.deepEqual(sm.spec.endpoints.map((e: { port: string; path: string }) => [e.port, e.path]), [['metrics', '/metrics']]);
    const pm = findObject(objs, 'PodMonitor');
    assert.deepEqual(pm.spec.selector.matchLabels, { [LABEL_SIDECAR]: 'injected' });
    assert.equal(pm.spec.podMetricsEndpoints[0].port, 'triage-admin');
    assert.deepEqual(pm.spec.namespaceSelector, { any: true });
  });

  it('the Grafana dashboard ConfigMap carries dashboards/triage.json with a panel per metric', () => {
    const cm = findObject(objs, 'ConfigMap', 'triage-dashboard');
    assert.equal(cm.metadata.labels!.grafana_dashboard, '1');
    const file = readFileSync(join(CHART_DIR, 'dashboards', 'triage.json'), 'utf8');
    const dash = JSON.parse(cm.data['triage.json']);
    assert.deepEqual(dash, JSON.parse(file));
    const exprs: string[] = dash.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr));
    const sources = ['sidecar/metrics.ts', 'operator/main.ts'].map((f) => readFileSync(join(ROOT, f), 'utf8')).join('\n');
    for (const metric of ['triage_requests_total', 'gen_ai_client_operation_duration_seconds', 'triage_proxy_overhead_seconds', 'triage_tokens_total',
      'triage_fallbacks_total', 'triage_deployment_cooldown', 'triage_router_decisions_total', 'triage_config_reloads_total',
      'triage_operator_leader', 'triage_operator_sidecar_sessions']) {
      assert.ok(sources.includes(`name: '${metric}'`), `${metric} is not a metric the code registers`);
      assert.ok(exprs.some((e) => new RegExp(`\\b${metric}(_bucket)?\\b`).test(e)), `no dashboard panel queries ${metric}`);
    }
    const ids = dash.panels.map((p: { id: number }) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  });

  it('off by default', () => {
    const kinds = renderChart().map((o) => o.kind);
    for (const k of ['Certificate', 'Issuer', 'ServiceMonitor', 'PodMonitor']) assert.ok(!kinds.includes(k), k);
    assert.ok(!renderChart().some((o) => o.metadata.name === 'triage-dashboard'));
  });
});

describe('chart: values.schema.json', () => {
  const bad: [Record<string, string | number | boolean>, RegExp][] = [
    [{ replicas: 'two' }, /\/replicas.*want integer/],
    [{ 'webhook.failurePolicy': 'Never' }, /\/webhook\/failurePolicy/],
    [{ 'webhook.timeoutSeconds': 60 }, /\/webhook\/timeoutSeconds/],
    [{ 'sidecar.tokenExpirationSeconds': 60 }, /\/sidecar\/tokenExpirationSeconds/],
    [{ 'image.pullPolicy': 'Sometimes' }, /\/image\/pullPolicy/],
    [{ 'operator.logLevel': 'loud' }, /\/operator\/logLevel/],
    [{ replica: 2 }, /additional properties 'replica' not allowed/],
    [{ 'webhook.failurepolicy': 'Fail' }, /additional properties 'failurepolicy' not allowed/],
  ];
  for (const [sets, message] of bad) {
    it(`rejects ${JSON.stringify(sets)}`, () => {
      const r = helmTemplate(sets);
      assert.notEqual(r.code, 0, `helm template accepted ${JSON.stringify(sets)}`);
      assert.match(r.stderr, /values don't meet the specifications of the schema/);
      assert.match(r.stderr, message);
    });
  }

  it('accepts the documented overrides', () => {
    renderChart({ replicas: 3, 'webhook.failurePolicy': 'Fail', 'sidecar.resources.limits.cpu': '1', 'tls.extraSANs': '{10.0.0.5,triage.example}', 'operator.logLevel': 'debug' });
  });
});

describe('chart: install on a real kube-apiserver', () => {
  let cp: ControlPlane;
  const canI = async (verb: string, resource: string, ns?: string, subresource?: string) => {
    const r = await cp.kubectl(['auth', 'can-i', verb, resource, `--as=${SA}`, ...(ns ? ['-n', ns] : ['--all-namespaces']), ...(subresource ? [`--subresource=${subresource}`] : [])]);
    assert.ok(r.code === 0 || r.code === 1, `kubectl auth can-i failed: ${r.stderr}`);
    return r.stdout.trim() === 'yes';
  };

  before(async () => {
    cp = await startControlPlane(); // throws "... run make controlplane" when the binaries are missing
    const r = await cp.helm(['install', 'triage', CHART_DIR, '--namespace', NS, '--create-namespace']);
    assert.equal(r.code, 0, `helm install failed:\n${r.stderr}${r.stdout}`);
  }, { timeout: 180_000 });

  after(async () => { await cp?.stop(); });

  it('installs the CRDs and every object', async () => {
    await kubectlOK(cp, ['wait', '--for=condition=Established', '--timeout=60s', 'crd/routingpolicies.triage.dev', 'crd/providerkeys.triage.dev']);
    const listed = JSON.parse(await kubectlOK(cp, ['get', 'deployment,service,serviceaccount,configmap,role,rolebinding,poddisruptionbudget,networkpolicy', '-n', NS, '-o', 'json']));
    const names = (listed.items as K8sObject[]).map((o) => `${o.kind}/${o.metadata.name}`);
    for (const want of ['Deployment/triage-operator', 'Service/triage-operator', 'ServiceAccount/triage-operator', 'ConfigMap/triage-inject',
      'Role/triage-operator', 'RoleBinding/triage-operator', 'PodDisruptionBudget/triage-operator', 'NetworkPolicy/triage-operator']) {
      assert.ok(names.includes(want), `${want} missing after install: ${names.join(', ')}`);
    }
    const wh = JSON.parse(await kubectlOK(cp, ['get', 'mutatingwebhookconfiguration', 'triage-sidecar-injector', '-o', 'json']));
    assert.equal(wh.webhooks.length, 2);
  });

  it('the operator\'s ServiceAccount may do everything the operator calls', async () => {
    const yes: [string, string, string?, string?][] = [
      ['list', 'routingpolicies.triage.dev'], ['watch', 'routingpolicies.triage.dev'], ['get', 'routingpolicies.triage.dev'],
      ['list', 'providerkeys.triage.dev'], ['watch', 'providerkeys.triage.dev'],
      ['patch', 'routingpolicies.triage.dev', 'apps', 'status'], ['patch', 'providerkeys.triage.dev', 'apps', 'status'],
      ['get', 'secrets/openai-credentials', 'apps'],
      ['get', 'pods', 'apps'], ['list', 'pods'], ['watch', 'pods'],
      ['list', 'namespaces'], ['watch', 'namespaces'],
      ['create', 'events', 'apps'],
      ['create', 'tokenreviews.authentication.k8s.io'],
      ['get', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/triage-sidecar-injector'],
      ['patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/triage-sidecar-injector'],
      ['create', 'leases.coordination.k8s.io', NS], ['get', 'leases.coordination.k8s.io/triage-operator-leader', NS], ['update', 'leases.coordination.k8s.io/triage-operator-leader', NS],
      ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((v): [string, string, string] => [v, 'configmaps', NS]),
      ['create', 'secrets', NS], ['update', 'secrets/triage-operator-tls', NS], ['get', 'secrets/triage-operator-tls', NS],
    ];
    const denied: string[] = [];
    for (const [verb, res, ns, sub] of yes) if (!(await canI(verb, res, ns, sub))) denied.push(`${verb} ${res}${sub ? `/${sub}` : ''} in ${ns ?? 'all namespaces'}`);
    assert.deepEqual(denied, [], 'the operator would be forbidden these calls');
  });

  it('and nothing it does not call', async () => {
    const no: [string, string, string?, string?][] = [
      ['list', 'secrets', 'apps'], ['watch', 'secrets', 'apps'], ['list', 'secrets'], ['create', 'secrets', 'apps'], ['update', 'secrets/other', NS],
      ['delete', 'secrets/triage-operator-tls', NS],
      ['create', 'routingpolicies.triage.dev', 'apps'], ['update', 'routingpolicies.triage.dev', 'apps'], ['patch', 'routingpolicies.triage.dev', 'apps'],
      ['delete', 'providerkeys.triage.dev', 'apps'], ['update', 'routingpolicies.triage.dev', 'apps', 'status'],
      ['create', 'pods', 'apps'], ['patch', 'pods', 'apps'], ['delete', 'pods', 'apps'], ['patch', 'namespaces/apps'],
      ['patch', 'events', 'apps'], ['update', 'events', 'apps'], ['delete', 'events', 'apps'],
      ['patch', 'mutatingwebhookconfigurations.admissionregistration.k8s.io/someone-else'], ['list', 'mutatingwebhookconfigurations.admissionregistration.k8s.io'],
      ['create', 'mutatingwebhookconfigurations.admissionregistration.k8s.io'], ['patch', 'validatingwebhookconfigurations.admissionregistration.k8s.io/x'],
      ['update', 'leases.coordination.k8s.io/kube-controller-manager', 'kube-system'], ['update', 'leases.coordination.k8s.io/other', NS],
      ['delete', 'leases.coordination.k8s.io/triage-operator-leader', NS], ['create', 'configmaps', 'apps'],
      ['create', 'serviceaccounts/token', NS], ['impersonate', 'serviceaccounts'], ['escalate', 'clusterroles.rbac.authorization.k8s.io'],
      ['patch', 'customresourcedefinitions.apiextensions.k8s.io'], ['create', 'subjectaccessreviews.authorization.k8s.io'],
    ];
    const allowed: string[] = [];
    for (const [verb, res, ns, sub] of no) if (await canI(verb, res, ns, sub)) allowed.push(`${verb} ${res}${sub ? `/${sub}` : ''} in ${ns ?? 'all namespaces'}`);
    assert.deepEqual(allowed, [], 'the operator holds permissions it never uses');
  });

  it('the worked example of docs/install.md is accepted by the apiserver', async () => {
    const doc = readFileSync(join(ROOT, 'docs', 'install.md'), 'utf8');
    const example = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!).find((y) => y.includes('kind: RoutingPolicy'));
    assert.ok(example, 'docs/install.md has no YAML block with a RoutingPolicy');
    const r = await cp.kubectl(['apply', '-f', '-'], { input: example });
    assert.equal(r.code, 0, `kubectl apply of the docs' example failed:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /warning/i, r.stderr);
    await kubectlOK(cp, ['get', 'routingpolicy/default', 'providerkey/openai', 'providerkey/claude', '-n', 'chat']);
  });

  it('upgrades (CRDs applied first, as docs/install.md says; webhook failurePolicy Fail) and uninstalls, leaving the CRDs', async () => {
    await kubectlOK(cp, ['apply', '--server-side', '--force-conflicts', '-f', join(CHART_DIR, 'crds')]);
    const up = await cp.helm(['upgrade', 'triage', CHART_DIR, '--namespace', NS, '--set', 'webhook.failurePolicy=Fail']);
    assert.equal(up.code, 0, up.stderr);
    const wh = JSON.parse(await kubectlOK(cp, ['get', 'mutatingwebhookconfiguration', 'triage-sidecar-injector', '-o', 'json']));
    assert.deepEqual(wh.webhooks.map((w: { failurePolicy: string }) => w.failurePolicy), ['Fail', 'Fail']);
    const un = await cp.helm(['uninstall', 'triage', '--namespace', NS]);
    assert.equal(un.code, 0, un.stderr);
    const left = await cp.kubectl(['get', 'mutatingwebhookconfiguration', 'triage-sidecar-injector']);
    assert.notEqual(left.code, 0, 'the webhook configuration is removed on uninstall');
    await kubectlOK(cp, ['get', 'crd', 'routingpolicies.triage.dev']); // helm never deletes crds/
  });
});
