// sidecar/config: durations, ${ENV} substitution, config text → compiled config, content versions.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { validateSidecarConfig, type SidecarConfig } from '../../api/validate.ts';
import { compileConfig, configVersion } from '../../sidecar/config/compile.ts';
import { parseDuration } from '../../sidecar/config/duration.ts';
import { parseConfigText, substituteEnv } from '../../sidecar/config/load.ts';

describe('parseDuration', () => {
  const ok: [string, number][] = [
    ['250ms', 250], ['0s', 0], ['1s', 1000], ['1.5s', 1500], ['1m30s', 90_000], ['2h', 7_200_000],
    ['1h2m3s4ms', 3_723_004], ['0.5m', 30_000], ['60s', 60_000], ['1s500ms', 1500], ['1.25h', 4_500_000],
  ];
  for (const [text, ms] of ok) it(`${text} → ${ms} ms`, () => assert.equal(parseDuration(text), ms));

  const bad = ['', '5', 's', '1.s', '.5s', '5 s', ' 5s', '5s ', '-1s', '1us', '1d', '5sec', '1m30', 'ms', '1S', '1e3ms'];
  for (const text of bad) it(`rejects ${JSON.stringify(text)}`, () => assert.throws(() => parseDuration(text), /invalid duration/));

  it('property: every string the contract pattern accepts parses, to the sum of its parts', () => {
    const part = fc.tuple(fc.nat({ max: 999 }), fc.option(fc.nat({ max: 99 }), { nil: undefined }), fc.constantFrom('ms', 's', 'm', 'h'));
    fc.assert(fc.property(fc.array(part, { minLength: 1, maxLength: 4 }), (parts) => {
      const text = parts.map(([n, f, u]) => `${n}${f === undefined ? '' : `.${f}`}${u}`).join('');
      assert.match(text, /^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/);
      const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
      const expected = parts.reduce((s, [n, f, u]) => s + Number(`${n}${f === undefined ? '' : `.${f}`}`) * unit[u], 0);
      assert.ok(Math.abs(parseDuration(text) - expected) < 1e-6, text);
    }));
  });
});

describe('substituteEnv', () => {
  it('replaces a set variable', () => {
    const errors: string[] = [];
    assert.deepEqual(substituteEnv({ apiKey: '${KEY}' }, { KEY: 'sk-1' }, '', errors), { apiKey: 'sk-1' });
    assert.deepEqual(errors, []);
  });

  it('an unset variable is an error naming the path', () => {
    const errors: string[] = [];
    substituteEnv({ providerKeys: [{ name: 'a', apiKey: 'x' }, { name: 'b', apiKey: '${NOPE}' }] }, {}, '', errors);
    assert.deepEqual(errors, ['providerKeys[1].apiKey: environment variable NOPE is not set']);
  });

  it('a variable set to the empty string counts as set', () => {
    const errors: string[] = [];
    assert.deepEqual(substituteEnv({ k: '${EMPTY}' }, { EMPTY: '' }, '', errors), { k: '' });
    assert.deepEqual(errors, []);
  });

  it('replaces several variables in one string, and reports each unset one', () => {
    const errors: string[] = [];
    const out = substituteEnv({ url: 'https://${HOST}:${PORT}/${A}/${B}' }, { HOST: 'h', PORT: '8080' }, '', errors);
    assert.deepEqual(out, { url: 'https://h:8080//' });
    assert.deepEqual(errors, ['url: environment variable A is not set', 'url: environment variable B is not set']);
  });

  it('leaves non-strings, text without ${…}, and $VAR without braces untouched', () => {
    const input = { n: 3, f: 0.5, b: true, z: null, s: 'plain $HOME ${lower-case} ${1X}', list: [1, 'a'] };
    const errors: string[] = [];
    assert.deepEqual(substituteEnv(input, { HOME: '/root' }, '', errors), input);
    assert.deepEqual(errors, []);
  });

  it('does not re-expand a value that itself contains ${…}', () => {
    assert.deepEqual(substituteEnv({ k: '${A}' }, { A: '${B}', B: 'no' }), { k: '${B}' });
  });

  it('does not mutate its input', () => {
    const input = { a: ['${X}'] };
    substituteEnv(input, { X: 'y' });
    assert.deepEqual(input, { a: ['${X}'] });
  });
});

const YAML = `
providerKeys:
  - name: oa
    provider: openai
    apiKey: \${OPENAI_API_KEY}
  - name: an
    provider: anthropic
    apiKey: \${ANTHROPIC_API_KEY}
  - name: ge
    provider: gemini
    apiKey: \${GEMINI_API_KEY}
  - name: az
    provider: azure-openai
    baseURL: https://res.openai.azure.com
    apiVersion: "2024-10-21"
    apiKey: az-key
policies:
  - name: chat
    models:
      - name: big
        deployments:
          - { providerKey: oa, model: gpt-4o, weight: 3 }
          - { providerKey: az, model: gpt-4o-deploy }
      - name: small
        loadBalancing: leastBusy
        deployments:
          - { providerKey: an, model: claude-haiku }
    router: { type: classifier, strong: big, weak: small, threshold: 0.6 }
    fallbacks:
      - { from: big, to: [small], when: [rateLimited] }
    retries: { baseDelay: 1.5s, maxDelay: 1m30s }
    timeouts: { connect: 250ms }
    cooldown: { duration: 2m, window: 10s }
  - name: cheap
    models:
      - name: small
        deployments: [{ providerKey: ge, model: gemini-2.5-flash }]
      - name: tiny
        deployments: [{ providerKey: ge, model: gemini-2.5-flash-lite }]
    router: { type: fixed, target: tiny }
`;
const ENV = { OPENAI_API_KEY: 'sk-openai', ANTHROPIC_API_KEY: 'sk-ant-x', GEMINI_API_KEY: 'AIza-test' };

function loaded(text = YAML, env: NodeJS.ProcessEnv = ENV) {
  const r = parseConfigText(text, env);
  assert.ok(r.ok, JSON.stringify(r));
  return r.config;
}

describe('parseConfigText', () => {
  it('invalid YAML is one error marked (file)', () => {
    const r = parseConfigText('policies: [unclosed\n  - : :', ENV);
    assert.equal(r.ok, false);
    assert.equal((r as { errors: string[] }).errors.length, 1);
    assert.match((r as { errors: string[] }).errors[0]!, /^\(file\): not valid YAML: /);
  });

  it('empty text and a non-object document are rejected', () => {
    const empty = parseConfigText('', ENV); // js-yaml 5 refuses an empty document
    assert.equal(empty.ok, false);
    assert.equal((empty as { errors: string[] }).errors.length, 1);
    assert.deepEqual(parseConfigText('just a string', ENV), { ok: false, errors: ['(root): must be object'] });
  });

  it('accepts JSON (YAML is a superset)', () => {
    const cfg = loaded(JSON.stringify({
      providerKeys: [{ name: 'k', provider: 'openai', apiKey: 'x' }],
      policies: [{ name: 'p', models: [{ name: 'm', deployments: [{ providerKey: 'k', model: 'gpt' }] }], router: { type: 'fixed', target: 'm' } }],
    }));
    assert.deepEqual([...cfg.policies.keys()], ['p']);
  });

  it('an unset variable rejects the file with the path, before validation', () => {
    const r = parseConfigText(YAML, { ...ENV, ANTHROPIC_API_KEY: undefined });
    assert.deepEqual(r, { ok: false, errors: ['providerKeys[1].apiKey: environment variable ANTHROPIC_API_KEY is not set'] });
  });

  it('a validation error is passed through', () => {
    const r = parseConfigText(YAML.replace('type: fixed, target: tiny', 'type: fixed'), ENV);
    assert.deepEqual(r, { ok: false, errors: ['policies[1].router.target: a fixed router needs target'] });
  });
});

describe('compileConfig', () => {
  it('resolves the default base URL per provider and keeps an explicit one', () => {
    const cfg = loaded();
    const chat = cfg.policies.get('chat')!;
    const [oa, az] = chat.models.get('big')!.deployments;
    assert.equal(oa!.target.baseURL, 'https://api.openai.com/v1');
    assert.equal(az!.target.baseURL, 'https://res.openai.azure.com');
    assert.equal(az!.target.apiVersion, '2024-10-21');
    assert.equal(chat.models.get('small')!.deployments[0]!.target.baseURL, 'https://api.anthropic.com');
    assert.equal(cfg.policies.get('cheap')!.models.get('small')!.deployments[0]!.target.baseURL, 'https://generativelanguage.googleapis.com');
  });

  it('carries the substituted key, model, provider, adapter and weight into each deployment', () => {
    const big = loaded().policies.get('chat')!.models.get('big')!;
    assert.equal(big.strategy, 'weighted');
    const d = big.deployments[0]!;
    assert.deepEqual(d.target, { provider: 'openai', baseURL: 'https://api.openai.com/v1', apiKey: 'sk-openai', model: 'gpt-4o' });
    assert.equal(d.adapter.id, 'openai');
    assert.equal(d.keyName, 'oa');
    assert.equal(d.weight, 3);
    assert.equal(big.deployments[1]!.weight, 1, 'default weight');
    assert.equal(big.deployments[1]!.adapter.id, 'azure-openai');
  });

  it('converts durations to ms, including defaults', () => {
    const chat = loaded().policies.get('chat')!;
    assert.deepEqual(chat.retries, { attempts: 2, backoff: 'exponential', baseMs: 1500, maxMs: 90_000 });
    assert.deepEqual(chat.timeouts, { connectMs: 250, firstByteMs: 60_000, idleMs: 60_000 });
    assert.deepEqual(chat.cooldown, { durationMs: 120_000, failureRate: 0.5, windowMs: 10_000, minRequests: 5 });
    assert.deepEqual(loaded().policies.get('cheap')!.retries, { attempts: 2, backoff: 'exponential', baseMs: 200, maxMs: 8000 });
  });

  it('compiles fallbacks with their error classes as a set', () => {
    const chat = loaded().policies.get('chat')!;
    assert.equal(chat.fallbacks.length, 1);
    assert.equal(chat.fallbacks[0]!.from, 'big');
    assert.deepEqual(chat.fallbacks[0]!.to, ['small']);
    assert.deepEqual([...chat.fallbacks[0]!.when], ['rateLimited']);
  });

  it('the first policy is the default; modelOwners maps a model to the FIRST policy defining it', () => {
    const cfg = loaded();
    assert.equal(cfg.defaultPolicy.name, 'chat');
    assert.equal(cfg.defaultPolicy, cfg.policies.get('chat'));
    assert.deepEqual([...cfg.modelOwners.keys()], ['big', 'small', 'tiny']);
    assert.equal(cfg.modelOwners.get('small')!.name, 'chat', '"small" is in both; chat comes first');
    assert.equal(cfg.modelOwners.get('tiny')!.name, 'cheap');
  });

  it('deployment ids are key|baseURL|model, stable across compiles, and listed in deploymentIds', () => {
    const a = loaded();
    const b = loaded();
    const ids = (c: typeof a) => [...c.policies.values()].flatMap((p) => [...p.models.values()].flatMap((m) => m.deployments.map((d) => d.id)));
    assert.deepEqual(ids(a), ids(b));
    assert.deepEqual(ids(a), [
      'oa|https://api.openai.com/v1|gpt-4o',
      'az|https://res.openai.azure.com|gpt-4o-deploy',
      'an|https://api.anthropic.com|claude-haiku',
      'ge|https://generativelanguage.googleapis.com|gemini-2.5-flash',
      'ge|https://generativelanguage.googleapis.com|gemini-2.5-flash-lite',
    ]);
    assert.deepEqual(a.deploymentIds, new Set(ids(a)));
  });

  it('the same upstream used by two models shares one id (one health record)', () => {
    const cfg = loaded(YAML.replace('model: gemini-2.5-flash-lite', 'model: gemini-2.5-flash'));
    assert.equal(cfg.deploymentIds.size, 4);
  });

  it('a changed API key keeps the deployment id (health survives key rotation)', () => {
    const a = loaded();
    const b = loaded(YAML, { ...ENV, OPENAI_API_KEY: 'sk-rotated' });
    assert.deepEqual(a.deploymentIds, b.deploymentIds);
  });

  it('uses the operator-provided version when present', () => {
    const cfg = loaded(`version: op-123\n${YAML}`);
    assert.equal(cfg.version, 'op-123');
  });
});

describe('configVersion', () => {
  function validated(edit: (c: any) => void = () => {}): SidecarConfig {
    const raw: any = {
      providerKeys: [{ name: 'k', provider: 'openai', apiKey: 'one' }],
      policies: [{ name: 'p', models: [{ name: 'm', deployments: [{ providerKey: 'k', model: 'gpt' }] }], router: { type: 'fixed', target: 'm' } }],
    };
    edit(raw);
    const r = validateSidecarConfig(raw);
    assert.ok(r.ok, JSON.stringify(r));
    return r.value;
  }

  it('is sha256:<16 hex>, and the same input gives the same version', () => {
    const v = configVersion(validated());
    assert.match(v, /^sha256:[0-9a-f]{16}$/);
    assert.equal(configVersion(validated()), v);
    assert.equal(loaded().version, loaded().version);
  });

  it('a changed apiKey (or any content) gives a different version', () => {
    assert.notEqual(configVersion(validated((c) => { c.providerKeys[0].apiKey = 'two'; })), configVersion(validated()));
    assert.notEqual(configVersion(validated((c) => { c.policies[0].retries = { attempts: 3 }; })), configVersion(validated()));
    assert.notEqual(loaded(YAML, { ...ENV, OPENAI_API_KEY: 'sk-rotated' }).version, loaded().version);
  });

  it('ignores the version field itself', () => {
    assert.equal(configVersion(validated((c) => { c.version = 'whatever'; })), configVersion(validated()));
  });

  it('is computed after defaulting: spelling out a default does not change it', () => {
    assert.equal(configVersion(validated((c) => { c.policies[0].retries = { attempts: 2, backoff: 'exponential' }; })), configVersion(validated()));
  });

  // Documents the actual behaviour: the hash is over JSON.stringify, which follows key insertion order, so the
  // same content written with keys in another order is a different version. (Harmless: a reload then counts
  // as "applied" rather than "unchanged".)
  it('is sensitive to key order (JSON.stringify)', () => {
    const reordered = validated((c) => { c.providerKeys[0] = { apiKey: 'one', provider: 'openai', name: 'k' }; });
    assert.notEqual(configVersion(reordered), configVersion(validated()));
  });
});
