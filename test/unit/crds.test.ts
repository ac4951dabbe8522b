// crds/*.yaml: generated from api/ and committed. Fails when the committed files are stale (run `make crds`),
// and checks the rules the apiserver enforces on structural schemas, so a bad CRD fails here rather than at
// `kubectl apply`.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Ajv } from 'ajv';
import { load } from 'js-yaml';

import type { TSchema } from '@sinclair/typebox';
import { crds, GROUP, structural, VERSION } from '../../api/crd.ts';
import { ProviderKeySpec } from '../../api/providerKey.ts';
import { RoutingPolicySpec } from '../../api/routingPolicy.ts';
import { HEADER, renderCrds } from '../../cli/genCrds.ts';

type Schema = Record<string, any>;
const CRD_DIR = new URL('../../crds/', import.meta.url);

const rendered = renderCrds();
const parsed = new Map([...rendered].map(([file, text]) => [file, load(text) as Schema]));
const byKind = (kind: string) => [...parsed.values()].find((c) => c.spec.names.kind === kind)!;
const rootOf = (crd: Schema): Schema => crd.spec.versions[0].schema.openAPIV3Schema;

describe('committed CRDs', () => {
  it('crds/ holds exactly the generated files', () => {
    const committed = readdirSync(CRD_DIR).filter((f) => f.endsWith('.yaml')).sort();
    assert.deepEqual(committed, [...rendered.keys()].sort(), 'crds/ and the contract disagree on which CRDs exist: run `make crds`');
  });

  for (const [file, text] of rendered) {
    it(`crds/${file} matches api/ (run \`make crds\` if this fails)`, () => {
      const onDisk = readFileSync(new URL(file, CRD_DIR), 'utf8');
      assert.ok(onDisk === text, `crds/${file} is stale: run \`make crds\` and commit the result`);
    });
  }

  it('each file carries the generated-file header and round-trips to crds()', () => {
    for (const text of rendered.values()) assert.ok(text.startsWith(HEADER));
    assert.deepEqual([...parsed.values()], JSON.parse(JSON.stringify(crds())));
  });
});

// --------------------------------------------------------------------------------- structural schemas

const STRUCTURAL_KEYS = new Set([
  'type', 'description', 'properties', 'required', 'items', 'enum', 'pattern', 'format', 'default', 'nullable',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'maxLength', 'minItems', 'maxItems',
  'minProperties', 'maxProperties', 'additionalProperties', 'uniqueItems', 'multipleOf', 'title', 'example',
  'x-kubernetes-validations', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-embedded-resource',
]);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);

interface Visit { node: Schema; path: string; inMetadata: boolean }
function walk(node: Schema, path: string, out: Visit[] = [], inMetadata = false): Visit[] {
  out.push({ node, path, inMetadata });
  for (const [k, v] of Object.entries((node.properties ?? {}) as Record<string, Schema>)) walk(v, `${path}.properties.${k}`, out, inMetadata || k === 'metadata');
  if (node.items && !Array.isArray(node.items)) walk(node.items, `${path}.items`, out, inMetadata);
  if (node.additionalProperties && typeof node.additionalProperties === 'object') walk(node.additionalProperties, `${path}.additionalProperties`, out, inMetadata);
  return out;
}

/** A field path like `.router.target` or `.spec.models[*].name` resolved in a schema, or undefined. */
function resolveField(node: Schema, path: string): Schema | undefined {
  let cur: Schema | undefined = node;
  for (const seg of path.replace(/\[[^\]]*\]/g, '.[]').split('.').filter(Boolean)) {
    if (!cur) return undefined;
    cur = seg === '[]' ? cur.items : cur.properties?.[seg];
  }
  return cur;
}

const ajv = new Ajv({ strict: false, useDefaults: true, allErrors: true });
ajv.addKeyword({ keyword: 'x-kubernetes-validations' });
for (const k of ['x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string']) ajv.addKeyword({ keyword: k });

for (const kind of ['RoutingPolicy', 'ProviderKey']) {
  describe(`${kind} CRD: Kubernetes structural-schema rules`, () => {
    const crd = byKind(kind);
    const root = rootOf(crd);
    const nodes = walk(root, 'openAPIV3Schema');

    it('every node has a type (unless int-or-string / preserve-unknown-fields), and a valid one', () => {
      for (const { node, path } of nodes) {
        if (node['x-kubernetes-int-or-string'] === true) { assert.equal(node.type, undefined, `${path}: int-or-string must not set type`); continue; }
        if (node['x-kubernetes-preserve-unknown-fields'] === true && node.type === undefined) continue;
        assert.ok(TYPES.has(node.type), `${path}: type ${JSON.stringify(node.type)}`);
      }
    });

    it('only keywords a structural schema may carry ($id, $schema, $ref, anyOf… are absent)', () => {
      for (const { node, path } of nodes) {
        for (const k of Object.keys(node)) assert.ok(STRUCTURAL_KEYS.has(k), `${path}: keyword ${k} is not allowed`);
      }
    });

    it('additionalProperties is never combined with properties, and never false', () => {
      for (const { node, path } of nodes) {
        if (!('additionalProperties' in node)) continue;
        assert.equal(node.properties, undefined, `${path}: properties and additionalProperties together`);
        assert.equal(typeof node.additionalProperties, 'object', `${path}: additionalProperties must be a schema`);
        assert.equal(node.type, 'object', path);
      }
    });

    it('arrays have one items schema; objects list only their own properties as required; enums match the type', () => {
      for (const { node, path } of nodes) {
        if (node.type === 'array') assert.ok(node.items && typeof node.items === 'object' && !Array.isArray(node.items), `${path}: items`);
        if (node.required) {
          assert.ok(Array.isArray(node.required) && node.required.length > 0, `${path}: required`);
          for (const r of node.required) assert.ok(node.properties?.[r], `${path}: required ${r} is not a property`);
        }
        if (node.enum) for (const v of node.enum) assert.equal(typeof v, node.type === 'integer' ? 'number' : node.type, `${path}: enum value ${v}`);
      }
    });

    it('list-type map lists key on required (or defaulted) fields of object items', () => {
      for (const { node, path } of nodes) {
        if (node['x-kubernetes-list-type'] !== 'map') continue;
        assert.equal(node.items.type, 'object', path);
        for (const k of node['x-kubernetes-list-map-keys']) {
          assert.ok(node.items.required?.includes(k) || node.items.properties?.[k]?.default !== undefined, `${path}: map key ${k}`);
        }
      }
    });

    it('patterns are RE2-compatible (no lookaround or backreferences)', () => {
      for (const { node, path } of nodes) {
        if (node.pattern === undefined) continue;
        assert.doesNotMatch(node.pattern, /\(\?[=!<]|\\[1-9]/, `${path}: ${node.pattern}`);
        assert.doesNotThrow(() => new RegExp(node.pattern), path);
      }
    });

    it('metadata is only `type: object`, and no default or rule sits under it', () => {
      assert.deepEqual(root.properties.metadata, { type: 'object' });
      for (const { node, path, inMetadata } of nodes) {
        if (!inMetadata) continue;
        assert.equal(node.default, undefined, path);
        assert.equal(node['x-kubernetes-validations'], undefined, path);
      }
    });

    it('the root: object with apiVersion, kind, metadata, spec (required) and status', () => {
      assert.equal(root.type, 'object');
      assert.deepEqual(Object.keys(root.properties).sort(), ['apiVersion', 'kind', 'metadata', 'spec', 'status']);
      assert.deepEqual(root.properties.apiVersion, { type: 'string' });
      assert.deepEqual(root.properties.kind, { type: 'string' });
      assert.deepEqual(root.required, ['spec']);
      assert.equal(typeof root.description, 'string');
    });

    it('every default validates against its own schema (nested defaults applied, as the apiserver does)', () => {
      for (const { node, path } of nodes) {
        if (node.default === undefined) continue;
        const { default: def, ...schema } = node;
        const validate = ajv.compile(schema);
        const value = structuredClone(def);
        assert.ok(validate(value), `${path}: default ${JSON.stringify(def)}: ${ajv.errorsText(validate.errors)}`);
      }
    });

    it('x-kubernetes-validations entries have only rule, message and fieldPath; fieldPath names a field', () => {
      let count = 0;
      for (const { node, path } of nodes) {
        for (const v of (node['x-kubernetes-validations'] ?? []) as Schema[]) {
          count++;
          assert.deepEqual(Object.keys(v).filter((k) => !['rule', 'message', 'fieldPath'].includes(k)), [], `${path}: ${JSON.stringify(v)}`);
          assert.ok(typeof v.rule === 'string' && v.rule.trim().length > 0, `${path}: rule`);
          assert.ok(typeof v.message === 'string' && v.message.length > 0 && !/[\r\n]/.test(v.message), `${path}: message`);
          if (v.fieldPath !== undefined) {
            assert.match(v.fieldPath, /^(\.[A-Za-z_][A-Za-z0-9_]*)+$/, `${path}: fieldPath`);
            assert.ok(resolveField(node, v.fieldPath), `${path}: fieldPath ${v.fieldPath} is not a field of this object`);
          }
          assert.match(v.rule, /\bself\b/, `${path}: a rule reads self`);
        }
      }
      assert.ok(count > 0, 'the CRD carries its cross-field rules');
    });

    it('status subresource, printer columns, shortNames and categories', () => {
      const { spec } = crd;
      assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
      assert.equal(crd.metadata.name, `${spec.names.plural}.${GROUP}`);
      assert.equal(spec.group, GROUP);
      assert.equal(spec.scope, 'Namespaced');
      assert.equal(spec.names.listKind, `${kind}List`);
      assert.ok(spec.names.shortNames.length > 0);
      assert.ok(spec.names.categories.includes('triage'));
      assert.equal(spec.versions.length, 1);
      const v = spec.versions[0];
      assert.deepEqual([v.name, v.served, v.storage], [VERSION, true, true]);
      assert.deepEqual(v.subresources, { status: {} });
      const cols = v.additionalPrinterColumns as Schema[];
      assert.ok(cols.length >= 2);
      assert.deepEqual([cols[0]!.name, cols.at(-1)!.name], ['Ready', 'Age']);
      for (const c of cols) {
        assert.deepEqual(Object.keys(c).filter((k) => !['name', 'type', 'jsonPath', 'description', 'priority', 'format'].includes(k)), []);
        assert.ok(['integer', 'number', 'string', 'boolean', 'date'].includes(c.type), `${c.name}: type ${c.type}`);
        assert.match(c.jsonPath, /^\./);
        if (c.jsonPath !== '.metadata.creationTimestamp') assert.ok(resolveField(root, c.jsonPath), `${c.name}: ${c.jsonPath} is not in the schema`);
      }
    });

    it('status has conditions keyed by type and observedGeneration', () => {
      const status = root.properties.status;
      assert.equal(status.type, 'object');
      assert.equal(status.properties.observedGeneration.type, 'integer');
      assert.equal(status.properties.conditions['x-kubernetes-list-type'], 'map');
      assert.deepEqual(status.properties.conditions['x-kubernetes-list-map-keys'], ['type']);
    });
  });
}

// ------------------------------------------------------------------------------- contract → CRD spec

/** Every `default` and every rule in the contract schema appears at the same place in the CRD spec. */
function compareWithContract(contract: TSchema, crdNode: Schema, path: string, seen: { defaults: number; rules: number }): void {
  const c = contract as Schema;
  if (c.default !== undefined) {
    seen.defaults++;
    assert.deepEqual(crdNode.default, c.default, `${path}: default`);
  }
  if (c['x-kubernetes-validations']) {
    const expected = (c['x-kubernetes-validations'] as Schema[]).map(({ rule, message, fieldPath }) => ({ rule, message, ...(fieldPath ? { fieldPath } : {}) }));
    seen.rules += expected.length;
    assert.deepEqual(crdNode['x-kubernetes-validations'], expected, `${path}: rules`);
  }
  if (c.type !== undefined) assert.equal(crdNode.type, c.type, `${path}: type`);
  for (const k of ['enum', 'pattern', 'minimum', 'maximum', 'minLength', 'maxLength', 'minItems', 'maxItems', 'maxProperties']) {
    if (c[k] !== undefined) assert.deepEqual(crdNode[k], c[k], `${path}: ${k}`);
  }
  if (c.required) {
    // A defaulted field is not required in the CRD: the apiserver checks a parent's `default: {}` before
    // filling the children's defaults.
    const props = (c.properties ?? {}) as Record<string, Schema>;
    const expected = (c.required as string[]).filter((r) => props[r]?.default === undefined);
    assert.deepEqual(crdNode.required, expected.length ? expected : undefined, `${path}: required`);
  }
  for (const [k, s] of Object.entries((c.properties ?? {}) as Record<string, TSchema>)) {
    assert.ok(crdNode.properties?.[k], `${path}.${k}: missing from the CRD`);
    compareWithContract(s, crdNode.properties[k], `${path}.${k}`, seen);
  }
  if (c.items) compareWithContract(c.items, crdNode.items, `${path}[]`, seen);
  if (c.additionalProperties && typeof c.additionalProperties === 'object') compareWithContract(c.additionalProperties, crdNode.additionalProperties, `${path}{}`, seen);
}

describe('CRD spec schemas carry the contract', () => {
  it('RoutingPolicy: every default, rule and constraint of RoutingPolicySpec', () => {
    const seen = { defaults: 0, rules: 0 };
    compareWithContract(RoutingPolicySpec, rootOf(byKind('RoutingPolicy')).properties.spec, 'spec', seen);
    assert.ok(seen.defaults >= 15, `only ${seen.defaults} defaults seen`);
    assert.equal(seen.rules, 8);
  });

  it('ProviderKey: every default, rule and constraint of ProviderKeySpec', () => {
    const seen = { defaults: 0, rules: 0 };
    compareWithContract(ProviderKeySpec, rootOf(byKind('ProviderKey')).properties.spec, 'spec', seen);
    assert.equal(seen.defaults, 1);
    assert.equal(seen.rules, 1);
  });

  it('the defaults users rely on are in the RoutingPolicy CRD', () => {
    const spec = rootOf(byKind('RoutingPolicy')).properties.spec;
    const model = spec.properties.models.items;
    assert.equal(model.properties.deployments.items.properties.weight.default, 1);
    assert.equal(model.properties.loadBalancing.default, 'weighted');
    assert.equal(spec.properties.router.properties.input.default, 'lastUser');
    assert.equal(spec.properties.router.properties.onRouterError.default, 'strong');
    assert.equal(spec.properties.router.properties.model.default, 'builtin');
    for (const k of ['retries', 'timeouts', 'cooldown']) assert.deepEqual(spec.properties[k].default, {}, k);
    assert.equal(spec.properties.retries.properties.attempts.default, 2);
    assert.equal(spec.properties.retries.properties.baseDelay.default, '200ms');
    assert.equal(spec.properties.cooldown.properties.failureRate.default, 0.5);
    assert.deepEqual(spec.properties.fallbacks.items.properties.when.default, ['rateLimited', 'serverError', 'timeout', 'connection']);
    assert.equal(rootOf(byKind('ProviderKey')).properties.spec.properties.secretRef.properties.key.default, 'apiKey');
  });

  it('closed contract objects become open (additionalProperties: false dropped); string maps keep their value schema', () => {
    const spec = rootOf(byKind('RoutingPolicy')).properties.spec;
    assert.equal('additionalProperties' in spec, false);
    assert.equal((RoutingPolicySpec as Schema).additionalProperties, false, 'the contract itself is closed');
    assert.deepEqual(spec.properties.selector.properties.matchLabels.additionalProperties, { type: 'string', maxLength: 4096 });
  });
});

describe('structural()', () => {
  it('keeps structural keywords, drops others and additionalProperties: false, and strips rule predicates', () => {
    const input = {
      $id: 'x', $schema: 'y', title: 'dropped', type: 'object', additionalProperties: false, description: 'd',
      [Symbol.for('TypeBox.Kind')]: 'Object',
      properties: {
        a: { type: 'string', default: 'z', examples: ['dropped'] },
        m: { type: 'object', additionalProperties: { type: 'integer', $id: 'inner' } },
        l: { type: 'array', items: { type: 'object', additionalProperties: false, properties: { k: { type: 'string' } } } },
      },
      'x-kubernetes-validations': [{ rule: 'self.a != ""', message: 'm', check: () => true }, { rule: 'true', message: 'n', fieldPath: '.a', check: () => true }],
    } as unknown as TSchema;
    assert.deepEqual(structural(input), {
      type: 'object', description: 'd',
      properties: {
        a: { type: 'string', default: 'z' },
        m: { type: 'object', additionalProperties: { type: 'integer' } },
        l: { type: 'array', items: { type: 'object', properties: { k: { type: 'string' } } } },
      },
      'x-kubernetes-validations': [{ rule: 'self.a != ""', message: 'm' }, { rule: 'true', message: 'n', fieldPath: '.a' }],
    });
  });
});
