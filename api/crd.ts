// Generates the CustomResourceDefinitions in crds/ from the contract, as Kubernetes structural schemas.

import type { TSchema } from '@sinclair/typebox';
import { ProviderKeySpec } from './providerKey.ts';
import { RoutingPolicySpec } from './routingPolicy.ts';

export const GROUP = 'triage.dev';
export const VERSION = 'v1alpha1';

// Keywords a structural schema may carry; everything else (e.g. $id, TypeBox's markers) is dropped.
const KEEP = new Set([
  'type', 'description', 'properties', 'required', 'items', 'enum', 'pattern', 'format', 'default', 'nullable',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems',
  'maxProperties', 'additionalProperties', 'x-kubernetes-validations', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
]);

/**
 * Contract schema → structural schema: closed objects become open (the apiserver prunes unknown fields),
 * and a field with a default is not `required` (the apiserver validates a parent's `default: {}` before
 * filling the children's defaults, so requiring them would reject the CRD).
 */
export function structural(schema: TSchema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const props = (schema.properties ?? {}) as Record<string, TSchema>;
  for (const [k, v] of Object.entries(schema)) {
    if (!KEEP.has(k)) continue;
    if (k === 'required') {
      const req = (v as string[]).filter((p) => props[p]?.default === undefined);
      if (req.length) out[k] = req;
      continue;
    }
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Record<string, TSchema>).map(([p, s]) => [p, structural(s)]));
    else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object')) out[k] = structural(v as TSchema);
    else if (k === 'additionalProperties') continue;
    else if (k === 'x-kubernetes-validations') out[k] = (v as { rule: string; message: string; fieldPath?: string }[])
      .map(({ rule, message, fieldPath }) => ({ rule, message, ...(fieldPath ? { fieldPath } : {}) }));
    else out[k] = v;
  }
  return out;
}

const condition = {
  type: 'object',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', maxLength: 316 },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    reason: { type: 'string', maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string', maxLength: 32768 },
  },
};
const conditions = {
  type: 'array', description: 'Ready, Accepted, ResolvedRefs and friends, per the Kubernetes API conventions.',
  items: condition, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'],
};

interface Kind {
  kind: string; plural: string; singular: string; shortNames: string[];
  spec: TSchema; status: Record<string, unknown>; columns: Record<string, unknown>[];
}

const ready = { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' };
const age = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

const kinds: Kind[] = [
  {
    kind: 'RoutingPolicy', plural: 'routingpolicies', singular: 'routingpolicy', shortNames: ['rp', 'rpol'],
    spec: RoutingPolicySpec,
    status: {
      observedGeneration: { type: 'integer', format: 'int64' },
      conditions,
      models: { type: 'string', description: 'The model target names, for the Models column.' },
      threshold: { type: 'number', description: 'The classifier threshold that strongFraction calibrated to.' },
      sidecars: {
        type: 'object', description: 'Sidecars receiving this policy.',
        properties: {
          connected: { type: 'integer' }, inSync: { type: 'integer' },
          nacks: { type: 'array', maxItems: 16, items: { type: 'object', properties: { pod: { type: 'string' }, reason: { type: 'string' } } } },
        },
      },
    },
    columns: [
      ready,
      { name: 'Router', type: 'string', jsonPath: '.spec.router.type' },
      { name: 'Models', type: 'string', jsonPath: '.status.models' },
      { name: 'Sidecars', type: 'integer', jsonPath: '.status.sidecars.inSync' },
      age,
    ],
  },
  {
    kind: 'ProviderKey', plural: 'providerkeys', singular: 'providerkey', shortNames: ['pk'],
    spec: ProviderKeySpec,
    status: { observedGeneration: { type: 'integer', format: 'int64' }, conditions },
    columns: [ready, { name: 'Provider', type: 'string', jsonPath: '.spec.provider' }, age],
  },
];

export function crds(): Record<string, unknown>[] {
  return kinds.map((k) => ({
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${k.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: k.kind, listKind: `${k.kind}List`, plural: k.plural, singular: k.singular, shortNames: k.shortNames, categories: ['triage'] },
      scope: 'Namespaced',
      versions: [{
        name: VERSION, served: true, storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: k.columns,
        schema: {
          openAPIV3Schema: {
            type: 'object', description: (k.spec as { description?: string }).description,
            required: ['spec'],
            properties: {
              apiVersion: { type: 'string' }, kind: { type: 'string' }, metadata: { type: 'object' },
              spec: structural(k.spec),
              status: { type: 'object', properties: k.status },
            },
          },
        },
      }],
    },
  }));
}
