// The custom resources as the operator reads them, and the keys it indexes them by.

import type { V1ObjectMeta } from '@kubernetes/client-node';
import type { ProviderKeySpec } from '../api/providerKey.ts';
import type { RoutingPolicySpec } from '../api/routingPolicy.ts';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface RoutingPolicy {
  apiVersion: 'triage.dev/v1alpha1';
  kind: 'RoutingPolicy';
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: RoutingPolicySpec;
  status?: { observedGeneration?: number; conditions?: Condition[]; models?: string; sidecars?: { connected: number; inSync: number; nacks?: { pod: string; reason: string }[] } };
}

export interface ProviderKey {
  apiVersion: 'triage.dev/v1alpha1';
  kind: 'ProviderKey';
  metadata: V1ObjectMeta & { name: string; namespace: string };
  spec: ProviderKeySpec;
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/** What the compiler needs of a Secret: its decoded string data. */
export interface SecretData { namespace: string; name: string; data: Record<string, string> }

/** Who a sidecar is: the pod the operator learned from its service-account token. */
export interface PodIdentity { namespace: string; name: string; labels: Record<string, string> }

export const nsName = (o: { metadata: { namespace?: string; name?: string } }) => `${o.metadata.namespace}/${o.metadata.name}`;
