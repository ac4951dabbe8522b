// The mutating admission webhook: AdmissionReview in, AdmissionReview out. All decisions are inject()'s;
// this file only decodes, asks the world whether the pod has a config, and encodes.

import type { V1Pod } from '@kubernetes/client-node';
import { inject, type InjectSettings, type Report } from './inject.ts';

export interface AdmissionRequest { uid: string; namespace?: string; object?: V1Pod; operation?: string; dryRun?: boolean }

export interface WebhookDeps {
  settings(): InjectSettings | undefined;
  namespaceLabels(ns: string): Record<string, string>;
  /** Whether some policy selecting this pod resolves; the reason when not. */
  podConfigReady(ns: string, labels: Record<string, string>): { ready: boolean; reason?: string };
  onSkip(ns: string, pod: V1Pod, report: Extract<Report, { action: 'skipped' }>, dryRun: boolean): void;
}

export function admit(review: { request?: AdmissionRequest }, deps: WebhookDeps): unknown {
  const req = review.request;
  const response = (extra: Record<string, unknown>) => ({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: req?.uid ?? '', allowed: true, ...extra } });
  if (!req?.object || req.object.kind !== 'Pod') return response({});
  const settings = deps.settings();
  // Without TLS material the operator cannot serve sidecars; never block the pod for it.
  if (!settings) return response({ warnings: ['triage: operator not ready; sidecar not injected'] });
  const pod = req.object;
  const ns = req.namespace ?? pod.metadata?.namespace ?? 'default';
  const { ready, reason } = deps.podConfigReady(ns, pod.metadata?.labels ?? {});
  const { patch, report } = inject({ pod, namespaceLabels: deps.namespaceLabels(ns), configReady: ready, ...(reason ? { notReadyReason: reason } : {}) }, settings);
  if (report.action === 'skipped' && report.reason !== 'NotOptedIn' && report.reason !== 'AlreadyInjected') deps.onSkip(ns, pod, report, req.dryRun === true);
  if (patch.length === 0) return response({});
  return response({ patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
}
