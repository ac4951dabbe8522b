// Runtime validation against the contract: ajv for shape (with defaults applied, as the apiserver
// would), then the cross-field rules' TypeScript predicates, then references between objects.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { TSchema } from '@sinclair/typebox';
import type { Rule } from './rules.ts';
import { SidecarConfig } from './sidecarConfig.ts';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, strictRequired: false, allowUnionTypes: true });
ajv.addKeyword({ keyword: 'x-kubernetes-validations', schemaType: 'array' });

export type Result<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** `/policies/0/router` → `policies[0].router` */
export function pointerToPath(pointer: string): string {
  return pointer.split('/').slice(1).reduce((acc, seg) => {
    const key = seg.replace(/~1/g, '/').replace(/~0/g, '~');
    return /^\d+$/.test(key) ? `${acc}[${key}]` : acc ? `${acc}.${key}` : key;
  }, '');
}

function describe(e: ErrorObject): string {
  const at = pointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties': return `${join(at, String(p.additionalProperty))}: unknown field`;
    case 'required': return `${join(at, String(p.missingProperty))}: required`;
    case 'enum': return `${at || '(root)'}: must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'anyOf': return `${at || '(root)'}: has the wrong type`;
    default: return `${at || '(root)'}: ${e.message}`;
  }
}
const join = (a: string, b: string) => (a ? `${a}.${b}` : b);

/** Drops the per-branch noise of a failed anyOf; its own error says the value has the wrong type. */
function readable(errors: ErrorObject[]): ErrorObject[] {
  return errors.filter((e) => !/\/anyOf\/\d+\//.test(e.schemaPath));
}

/** Walks value alongside schema and runs every rule's predicate where the schema declares it. */
export function checkRules(schema: TSchema, value: unknown, at = ''): string[] {
  if (value === null || typeof value !== 'object') return [];
  const errors: string[] = [];
  const rules = (schema as { 'x-kubernetes-validations'?: Rule[] })['x-kubernetes-validations'] ?? [];
  for (const r of rules) if (!r.check(value)) errors.push(`${at + (r.fieldPath ?? '') || '(root)'}: ${r.message}`.replace(/^\./, ''));
  if (Array.isArray(value) && schema.items) value.forEach((v, i) => errors.push(...checkRules(schema.items, v, `${at}[${i}]`)));
  else if (schema.properties) for (const [k, s] of Object.entries(schema.properties as Record<string, TSchema>)) {
    errors.push(...checkRules(s, (value as Record<string, unknown>)[k], at ? `${at}.${k}` : k));
  }
  return errors;
}

export function compile<T>(schema: TSchema): (data: unknown) => Result<T> {
  const validate: ValidateFunction = ajv.compile(schema);
  return (data) => {
    if (!validate(data)) return { ok: false, errors: [...new Set(readable(validate.errors ?? []).map(describe))] };
    const errors = checkRules(schema, data);
    return errors.length ? { ok: false, errors } : { ok: true, value: data as T };
  };
}

const shapeOfConfig = compile<SidecarConfig>(SidecarConfig);

/** Validates a whole sidecar config (mutates it by applying defaults). */
export function validateSidecarConfig(data: unknown): Result<SidecarConfig> {
  const shaped = shapeOfConfig(data);
  if (!shaped.ok) return shaped;
  const cfg = shaped.value;
  const errors: string[] = [];
  const keys = new Set<string>();
  cfg.providerKeys.forEach((k, i) => {
    if (keys.has(k.name)) errors.push(`providerKeys[${i}].name: duplicate name "${k.name}"`);
    keys.add(k.name);
  });
  const policies = new Set<string>();
  cfg.policies.forEach((p, i) => {
    if (policies.has(p.name)) errors.push(`policies[${i}].name: duplicate name "${p.name}"`);
    if (p.name === 'auto') errors.push(`policies[${i}].name: "auto" is reserved for the default policy`);
    p.models.forEach((m, j) => { if (m.name === 'auto') errors.push(`policies[${i}].models[${j}].name: "auto" is reserved for the default policy`); });
    policies.add(p.name);
    p.models.forEach((m, j) => m.deployments.forEach((d, k) => {
      if (!keys.has(d.providerKey)) errors.push(`policies[${i}].models[${j}].deployments[${k}].providerKey: no providerKey named "${d.providerKey}"`);
    }));
  });
  return errors.length ? { ok: false, errors } : shaped;
}

export type { SidecarConfig };
