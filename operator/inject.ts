// The sidecar injector: inject(pod, settings) → a JSON patch and a report. Pure, like Istio's and
// Linkerd's injectors, so it is tested with golden files; the webhook only does I/O around it.

import type { V1Container, V1EnvVar, V1Pod, V1Volume } from '@kubernetes/client-node';

export const SIDECAR_NAME = 'triage-sidecar';
export const ANNOTATION_INJECT = 'triage.dev/inject';
export const ANNOTATION_STATUS = 'triage.dev/status';
export const ANNOTATION_SKIPPED = 'triage.dev/inject-skipped';
export const NAMESPACE_LABEL = 'triage.dev/inject';
/** Set on injected pods, so the operator watches only those. */
export const LABEL_SIDECAR = 'triage.dev/sidecar';
export const TOKEN_VOLUME = 'triage-token';
export const TOKEN_DIR = '/var/run/secrets/triage.dev';

export interface InjectSettings {
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  proxyPort: number;
  adminPort: number;
  /** https://triage-operator.<ns>.svc:<port> — where the sidecar opens its config stream. */
  operatorURL: string;
  /** PEM of the CA that signs the operator's serving certificate. */
  caPEM: string;
  tokenAudience: string;
  tokenExpirationSeconds: number;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  logLevel?: string;
}

export interface InjectInput {
  pod: V1Pod;
  namespaceLabels: Record<string, string>;
  /** Whether the operator has a config for this pod (some RoutingPolicy selects it and resolves). */
  configReady: boolean;
  /** Why not, when configReady is false. */
  notReadyReason?: string;
}

export type PatchOp = { op: 'add' | 'replace'; path: string; value: unknown };

export type Report =
  | { action: 'injected'; containers: string[]; env: Record<string, string[]> }
  | { action: 'skipped'; reason: 'NotOptedIn' | 'OptedOut' | 'AlreadyInjected' | 'HostNetwork' | 'ConfigNotReady'; message: string };

/** Environment the app containers get so that unmodified SDKs call the sidecar. */
export function appEnv(s: InjectSettings): V1EnvVar[] {
  const base = `http://127.0.0.1:${s.proxyPort}`;
  return [
    { name: 'OPENAI_BASE_URL', value: `${base}/v1` },
    { name: 'OPENAI_API_BASE', value: `${base}/v1` }, // pre-1.0 openai-python, LangChain
    { name: 'ANTHROPIC_BASE_URL', value: base },
    // The SDKs refuse to start without a key; the sidecar holds the real ones and ignores these.
    { name: 'OPENAI_API_KEY', value: 'triage-sidecar' },
    { name: 'ANTHROPIC_API_KEY', value: 'triage-sidecar' },
  ];
}

export function sidecarContainer(s: InjectSettings): V1Container {
  return {
    name: SIDECAR_NAME,
    image: s.image,
    ...(s.imagePullPolicy ? { imagePullPolicy: s.imagePullPolicy } : {}),
    // A native sidecar: starts before the app, stops after it, never holds a Job open.
    restartPolicy: 'Always',
    command: ['triage'],
    args: [
      'sidecar',
      '--operator', s.operatorURL,
      '--listen', `127.0.0.1:${s.proxyPort}`,
      '--admin-listen', `0.0.0.0:${s.adminPort}`,
      '--log-level', s.logLevel ?? 'info',
    ],
    env: [
      { name: 'TRIAGE_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'TRIAGE_POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'TRIAGE_TOKEN_FILE', value: `${TOKEN_DIR}/token` },
      { name: 'TRIAGE_OPERATOR_CA', value: s.caPEM },
    ],
    ports: [{ name: 'triage-admin', containerPort: s.adminPort, protocol: 'TCP' }],
    // Startup gates the app on the process being up; readiness also needs a config.
    startupProbe: { httpGet: { path: '/healthz', port: s.adminPort }, periodSeconds: 1, failureThreshold: 30 },
    readinessProbe: { httpGet: { path: '/readyz', port: s.adminPort }, periodSeconds: 5 },
    livenessProbe: { httpGet: { path: '/healthz', port: s.adminPort }, periodSeconds: 10 },
    resources: s.resources,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: [{ name: TOKEN_VOLUME, mountPath: TOKEN_DIR, readOnly: true }],
  };
}

export function tokenVolume(s: InjectSettings): V1Volume {
  return {
    name: TOKEN_VOLUME,
    projected: { sources: [{ serviceAccountToken: { audience: s.tokenAudience, expirationSeconds: s.tokenExpirationSeconds, path: 'token' } }] },
  };
}

/** JSON Pointer escaping of one path segment (RFC 6901). */
const esc = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

function setMeta(pod: V1Pod, field: 'annotations' | 'labels', key: string, value: string): PatchOp[] {
  if (!pod.metadata?.[field]) return [{ op: 'add', path: `/metadata/${field}`, value: { [key]: value } }];
  return [{ op: 'add', path: `/metadata/${field}/${esc(key)}`, value }];
}
const annotate = (pod: V1Pod, key: string, value: string) => setMeta(pod, 'annotations', key, value);

/** Opt-in: the namespace label, or the pod's label or annotation (the label is what lets the webhook's
 * objectSelector call us outside labelled namespaces). An annotation or label of false/disabled opts out. */
function optIn(pod: V1Pod, nsLabels: Record<string, string>): Extract<Report, { action: 'skipped' }> | undefined {
  const marks = [pod.metadata?.annotations?.[ANNOTATION_INJECT], pod.metadata?.labels?.[ANNOTATION_INJECT]];
  const off = marks.find((m) => m === 'false' || m === 'disabled');
  if (off) return { action: 'skipped', reason: 'OptedOut', message: `pod sets ${ANNOTATION_INJECT}=${off}` };
  if (marks.some((m) => m === 'true' || m === 'enabled') || nsLabels[NAMESPACE_LABEL] === 'enabled') return undefined;
  return { action: 'skipped', reason: 'NotOptedIn', message: `neither namespace label ${NAMESPACE_LABEL}=enabled nor pod ${ANNOTATION_INJECT}=true` };
}

export function inject(input: InjectInput, s: InjectSettings): { patch: PatchOp[]; report: Report } {
  const { pod } = input;
  const skip = (report: Extract<Report, { action: 'skipped' }>, record: boolean) =>
    ({ patch: record ? annotate(pod, ANNOTATION_SKIPPED, `${report.reason}: ${report.message}`) : [], report });

  const notOptedIn = optIn(pod, input.namespaceLabels);
  if (notOptedIn) return skip(notOptedIn, false);
  const spec = pod.spec!;
  const already = pod.metadata?.annotations?.[ANNOTATION_STATUS] !== undefined
    || [...(spec.initContainers ?? []), ...spec.containers].some((c) => c.name === SIDECAR_NAME);
  if (already) return skip({ action: 'skipped', reason: 'AlreadyInjected', message: `${SIDECAR_NAME} is already present` }, false);
  // The proxy binds the pod's loopback; on the host network that would be the node's.
  if (spec.hostNetwork) return skip({ action: 'skipped', reason: 'HostNetwork', message: 'pods on the host network are not injected' }, true);
  if (!input.configReady) return skip({ action: 'skipped', reason: 'ConfigNotReady', message: input.notReadyReason ?? 'no RoutingPolicy selects this pod' }, true);

  const patch: PatchOp[] = [];
  const sidecar = sidecarContainer(s);
  // First among init containers, so that other init containers can already call the proxy.
  patch.push(spec.initContainers?.length
    ? { op: 'add', path: '/spec/initContainers/0', value: sidecar }
    : { op: 'add', path: '/spec/initContainers', value: [sidecar] });
  patch.push(spec.volumes?.length
    ? { op: 'add', path: '/spec/volumes/-', value: tokenVolume(s) }
    : { op: 'add', path: '/spec/volumes', value: [tokenVolume(s)] });

  const wanted = appEnv(s);
  const envReport: Record<string, string[]> = {};
  spec.containers.forEach((c, i) => {
    const present = new Set((c.env ?? []).map((e) => e.name));
    const add = wanted.filter((e) => !present.has(e.name));
    envReport[c.name] = add.map((e) => e.name);
    if (add.length === 0) return;
    if (!c.env) patch.push({ op: 'add', path: `/spec/containers/${i}/env`, value: add });
    else for (const e of add) patch.push({ op: 'add', path: `/spec/containers/${i}/env/-`, value: e });
  });

  const status = { version: 1, image: s.image, sidecar: SIDECAR_NAME, env: envReport };
  patch.push(...annotate(pod, ANNOTATION_STATUS, JSON.stringify(status)));
  patch.push(...setMeta(pod, 'labels', LABEL_SIDECAR, 'injected'));
  return { patch, report: { action: 'injected', containers: spec.containers.map((c) => c.name), env: envReport } };
}
