// The api/ contract: shape validation with defaults, path-naming errors, cross-field rules, references,
// and "one rule, two enforcers": every rule's TypeScript `check` must agree with its CEL text. A small CEL
// evaluator below (the subset the contract uses) runs the CEL text itself, so the agreement is checked on a
// hand-written table (with verdicts derived by reading the CEL) and on random samples.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import type { TSchema } from '@sinclair/typebox';
import { ProviderKeySpec, SidecarProviderKey } from '../../api/providerKey.ts';
import { Router, RoutingPolicySpec, SidecarPolicy } from '../../api/routingPolicy.ts';
import type { Rule } from '../../api/rules.ts';
import { checkRules, compile, pointerToPath, validateSidecarConfig } from '../../api/validate.ts';

// ---------------------------------------------------------------------------------------------- fixtures

type Json = any; // test fixtures are deliberately loose: many are invalid on purpose

function config(): Json {
  return {
    providerKeys: [
      { name: 'oa', provider: 'openai', apiKey: 'sk-test' },
      { name: 'an', provider: 'anthropic', apiKey: 'sk-ant-test' },
    ],
    policies: [{
      name: 'default',
      models: [
        { name: 'strong', deployments: [{ providerKey: 'oa', model: 'gpt-4o' }] },
        { name: 'weak', deployments: [{ providerKey: 'an', model: 'claude-haiku' }] },
      ],
      router: { type: 'classifier', strong: 'strong', weak: 'weak', threshold: 0.5 },
    }],
  };
}

function errorsOf(data: Json): string[] {
  const r = validateSidecarConfig(data);
  assert.equal(r.ok, false, 'expected the config to be rejected');
  return (r as { errors: string[] }).errors;
}

function with_(edit: (c: Json) => void): Json {
  const c = config();
  edit(c);
  return c;
}

// ------------------------------------------------------------------------------------------ defaults

describe('validateSidecarConfig: valid configs get the contract defaults', () => {
  it('accepts the minimal config and fills retries, timeouts, cooldown, weight, loadBalancing and router defaults', () => {
    const r = validateSidecarConfig(config());
    assert.ok(r.ok, JSON.stringify(r));
    const p = r.value.policies[0]!;
    assert.deepEqual(p.retries, { attempts: 2, backoff: 'exponential', baseDelay: '200ms', maxDelay: '8s' });
    assert.deepEqual(p.timeouts, { connect: '5s', firstByte: '60s', idle: '60s' });
    assert.deepEqual(p.cooldown, { duration: '30s', failureRate: 0.5, window: '60s', minRequests: 5 });
    for (const m of p.models) {
      assert.equal(m.loadBalancing, 'weighted');
      for (const d of m.deployments) assert.equal(d.weight, 1);
    }
    assert.equal(p.router.input, 'lastUser');
    assert.equal(p.router.onRouterError, 'strong');
    assert.equal(p.router.model, 'builtin');
  });

  it('fills nested defaults inside a partially given object, and keeps every explicit value', () => {
    const c = with_((c) => {
      c.policies[0].retries = { attempts: 0 };
      c.policies[0].cooldown = { failureRate: 0.9 };
      c.policies[0].models[0].loadBalancing = 'leastBusy';
      c.policies[0].models[0].deployments[0].weight = 7;
      c.policies[0].router.input = 'conversation';
      c.policies[0].router.onRouterError = 'weak';
    });
    const r = validateSidecarConfig(c);
    assert.ok(r.ok, JSON.stringify(r));
    const p = r.value.policies[0]!;
    assert.deepEqual(p.retries, { attempts: 0, backoff: 'exponential', baseDelay: '200ms', maxDelay: '8s' });
    assert.deepEqual(p.cooldown, { duration: '30s', failureRate: 0.9, window: '60s', minRequests: 5 });
    assert.equal(p.models[0]!.loadBalancing, 'leastBusy');
    assert.equal(p.models[0]!.deployments[0]!.weight, 7);
    assert.equal(p.router.input, 'conversation');
    assert.equal(p.router.onRouterError, 'weak');
  });

  it('gives a fallback the default error classes', () => {
    const r = validateSidecarConfig(with_((c) => { c.policies[0].fallbacks = [{ from: 'strong', to: ['weak'] }]; }));
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.value.policies[0]!.fallbacks![0]!.when, ['rateLimited', 'serverError', 'timeout', 'connection']);
  });

  it('accepts fixed and random routers, and azure-openai / openai-compatible keys with a baseURL', () => {
    const c = with_((c) => {
      c.providerKeys.push({ name: 'az', provider: 'azure-openai', baseURL: 'https://x.openai.azure.com', apiVersion: '2024-10-21', apiKey: 'k' });
      c.providerKeys.push({ name: 'local', provider: 'openai-compatible', baseURL: 'http://vllm:8000/v1', apiKey: '' });
      c.policies.push({ name: 'fixed', models: [{ name: 'only', deployments: [{ providerKey: 'az', model: 'dep' }] }], router: { type: 'fixed', target: 'only' } });
      c.policies.push({
        name: 'coin', router: { type: 'random', strong: 'a', weak: 'b', strongFraction: 0.2 },
        models: [{ name: 'a', deployments: [{ providerKey: 'local', model: 'm' }] }, { name: 'b', deployments: [{ providerKey: 'oa', model: 'n' }] }],
      });
    });
    const r = validateSidecarConfig(c);
    assert.ok(r.ok, JSON.stringify(r));
  });

  it('applies the CRD spec defaults too (ProviderKey secretRef.key)', () => {
    const r = compile<Json>(ProviderKeySpec)({ provider: 'openai', secretRef: { name: 's' } });
    assert.ok(r.ok, JSON.stringify(r));
    assert.equal(r.value.secretRef.key, 'apiKey');
  });
});

// ------------------------------------------------------------------------------------- shape errors

describe('validateSidecarConfig: shape errors name the path', () => {
  const cases: { name: string; edit: (c: Json) => void; expected: string | RegExp }[] = [
    { name: 'unknown top-level field', edit: (c) => { c.polices = []; }, expected: 'polices: unknown field' },
    { name: 'unknown nested field', edit: (c) => { c.policies[0].retries = { attemps: 3 }; }, expected: 'policies[0].retries.attemps: unknown field' },
    { name: 'unknown field in a deployment', edit: (c) => { c.policies[0].models[1].deployments[0].wieght = 2; }, expected: 'policies[0].models[1].deployments[0].wieght: unknown field' },
    { name: 'wrong type (string for integer)', edit: (c) => { c.policies[0].retries = { attempts: 'three' }; }, expected: 'policies[0].retries.attempts: must be integer' },
    { name: 'wrong type (number for string)', edit: (c) => { c.providerKeys[0].apiKey = 42; }, expected: 'providerKeys[0].apiKey: must be string' },
    { name: 'wrong type (object for array)', edit: (c) => { c.policies[0].models = {}; }, expected: 'policies[0].models: must be array' },
    { name: 'bad enum (router type)', edit: (c) => { c.policies[0].router.type = 'smart'; }, expected: 'policies[0].router.type: must be one of classifier, random, fixed' },
    { name: 'bad enum (provider)', edit: (c) => { c.providerKeys[1].provider = 'claude'; }, expected: /^providerKeys\[1\]\.provider: must be one of openai, azure-openai, anthropic, gemini, openai-compatible$/ },
    { name: 'bad enum (fallback class)', edit: (c) => { c.policies[0].fallbacks = [{ from: 'strong', to: ['weak'], when: ['oops'] }]; }, expected: /^policies\[0\]\.fallbacks\[0\]\.when\[0\]: must be one of rateLimited, / },
    { name: 'bad duration (space)', edit: (c) => { c.policies[0].timeouts = { connect: '5 s' }; }, expected: /^policies\[0\]\.timeouts\.connect: must match pattern / },
    { name: 'bad duration (no unit)', edit: (c) => { c.policies[0].retries = { maxDelay: '8' }; }, expected: /^policies\[0\]\.retries\.maxDelay: must match pattern / },
    { name: 'bad duration (Go µs unit)', edit: (c) => { c.policies[0].cooldown = { window: '10us' }; }, expected: /^policies\[0\]\.cooldown\.window: must match pattern / },
    { name: 'missing required (deployment model)', edit: (c) => { delete c.policies[0].models[0].deployments[0].model; }, expected: 'policies[0].models[0].deployments[0].model: required' },
    { name: 'missing required (router)', edit: (c) => { delete c.policies[0].router; }, expected: 'policies[0].router: required' },
    { name: 'missing required (policies)', edit: (c) => { delete c.policies; }, expected: 'policies: required' },
    { name: 'missing required (apiKey)', edit: (c) => { delete c.providerKeys[0].apiKey; }, expected: 'providerKeys[0].apiKey: required' },
    { name: 'out of range', edit: (c) => { c.policies[0].router.threshold = 1.5; }, expected: /^policies\[0\]\.router\.threshold: must be <= 1$/ },
    { name: 'empty deployments', edit: (c) => { c.policies[0].models[0].deployments = []; }, expected: /^policies\[0\]\.models\[0\]\.deployments: must NOT have fewer than 1 items$/ },
    { name: 'model name not a DNS-ish name', edit: (c) => { c.policies[0].models[0].name = 'Strong Model'; }, expected: /^policies\[0\]\.models\[0\]\.name: must match pattern / },
    { name: 'baseURL without scheme', edit: (c) => { c.providerKeys[0].baseURL = 'api.openai.com'; }, expected: /^providerKeys\[0\]\.baseURL: must match pattern / },
    { name: 'no policies', edit: (c) => { c.policies = []; }, expected: /^policies: must NOT have fewer than 1 items$/ },
    { name: 'not an object at all', edit: () => {}, expected: '(root): must be object' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const data = c.name === 'not an object at all' ? 'hello' : with_(c.edit);
      const errors = errorsOf(data);
      const hit = typeof c.expected === 'string' ? errors.includes(c.expected) : errors.some((e) => (c.expected as RegExp).test(e));
      assert.ok(hit, `expected ${c.expected} among ${JSON.stringify(errors)}`);
    });
  }

  it('reports every shape error at once, each once', () => {
    const errors = errorsOf(with_((c) => {
      c.extra = 1;
      c.policies[0].router.type = 'smart';
      delete c.providerKeys[0].apiKey;
    }));
    assert.deepEqual([...errors].sort(), ['extra: unknown field', 'policies[0].router.type: must be one of classifier, random, fixed', 'providerKeys[0].apiKey: required'].sort());
    assert.equal(new Set(errors).size, errors.length);
  });
});

// -------------------------------------------------------------------------------- cross-field rules

describe('validateSidecarConfig: cross-field rules and references', () => {
  const cases: { name: string; edit: (c: Json) => void; expected: string }[] = [
    { name: 'fixed router without target', edit: (c) => { c.policies[0].router = { type: 'fixed' }; }, expected: 'policies[0].router.target: a fixed router needs target' },
    { name: 'classifier without weak', edit: (c) => { delete c.policies[0].router.weak; }, expected: 'policies[0].router.strong: classifier and random routers need strong and weak' },
    { name: 'random without strong', edit: (c) => { c.policies[0].router = { type: 'random', weak: 'weak', strongFraction: 0.5 }; }, expected: 'policies[0].router.strong: classifier and random routers need strong and weak' },
    { name: 'both threshold and strongFraction', edit: (c) => { c.policies[0].router.strongFraction = 0.3; }, expected: 'policies[0].router.threshold: set exactly one of threshold or strongFraction' },
    { name: 'neither threshold nor strongFraction', edit: (c) => { delete c.policies[0].router.threshold; }, expected: 'policies[0].router.threshold: set exactly one of threshold or strongFraction' },
    { name: 'router.target not in models', edit: (c) => { c.policies[0].router = { type: 'fixed', target: 'medium' }; }, expected: 'policies[0].router.target: router.target must name a model in models' },
    { name: 'router.strong not in models', edit: (c) => { c.policies[0].router.strong = 'gpt-4o'; }, expected: 'policies[0].router.strong: router.strong must name a model in models' },
    { name: 'router.weak not in models', edit: (c) => { c.policies[0].router.weak = 'tiny'; }, expected: 'policies[0].router.weak: router.weak must name a model in models' },
    { name: 'fallback from an unknown model', edit: (c) => { c.policies[0].fallbacks = [{ from: 'medium', to: ['weak'] }]; }, expected: 'policies[0].fallbacks: fallbacks must name models in models' },
    { name: 'fallback to an unknown model', edit: (c) => { c.policies[0].fallbacks = [{ from: 'strong', to: ['weak', 'medium'] }]; }, expected: 'policies[0].fallbacks: fallbacks must name models in models' },
    { name: 'duplicate model names', edit: (c) => { c.policies[0].models[1].name = 'strong'; c.policies[0].router.weak = 'strong'; }, expected: 'policies[0].models: model names must be unique' },
    { name: 'azure-openai without baseURL', edit: (c) => { c.providerKeys[0].provider = 'azure-openai'; }, expected: 'providerKeys[0].baseURL: baseURL is required for azure-openai and openai-compatible providers' },
    { name: 'openai-compatible without baseURL', edit: (c) => { c.providerKeys[1].provider = 'openai-compatible'; }, expected: 'providerKeys[1].baseURL: baseURL is required for azure-openai and openai-compatible providers' },
    { name: 'duplicate providerKey names', edit: (c) => { c.providerKeys[1].name = 'oa'; }, expected: 'providerKeys[1].name: duplicate name "oa"' },
    { name: 'duplicate policy names', edit: (c) => { c.policies.push(structuredClone(c.policies[0])); }, expected: 'policies[1].name: duplicate name "default"' },
    { name: 'deployment naming an unknown providerKey', edit: (c) => { c.policies[0].models[1].deployments.push({ providerKey: 'gemini-key', model: 'g' }); }, expected: 'policies[0].models[1].deployments[1].providerKey: no providerKey named "gemini-key"' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const errors = errorsOf(with_(c.edit));
      assert.ok(errors.includes(c.expected), `expected ${JSON.stringify(c.expected)} among ${JSON.stringify(errors)}`);
    });
  }

  it('a rule error in the second policy names that policy', () => {
    const errors = errorsOf(with_((c) => {
      c.policies.push({ name: 'two', models: [{ name: 'x', deployments: [{ providerKey: 'oa', model: 'm' }] }], router: { type: 'fixed', target: 'y' } });
    }));
    assert.deepEqual(errors, ['policies[1].router.target: router.target must name a model in models']);
  });

  it('a valid fixed router names only its target: strong/weak rules do not fire', () => {
    const r = validateSidecarConfig(with_((c) => { c.policies[0].router = { type: 'fixed', target: 'weak' }; }));
    assert.ok(r.ok, JSON.stringify(r));
  });

  it('RoutingPolicySpec (the CRD spec) enforces the same policy rules at its root', () => {
    const spec = { selector: {}, ...with_(() => {}).policies[0], name: undefined };
    delete spec.name;
    spec.router = { type: 'fixed', target: 'nope' };
    const r = compile<Json>(RoutingPolicySpec)(spec);
    assert.equal(r.ok, false);
    assert.deepEqual((r as { errors: string[] }).errors, ['router.target: router.target must name a model in models']);
  });
});

describe('pointerToPath', () => {
  const cases: [string, string][] = [
    ['', ''],
    ['/policies', 'policies'],
    ['/policies/0/router', 'policies[0].router'],
    ['/policies/12/models/3/deployments/0/weight', 'policies[12].models[3].deployments[0].weight'],
    ['/headers/x~1y', 'headers.x/y'],
    ['/headers/a~0b', 'headers.a~b'],
    ['/0/a', '[0].a'],
  ];
  for (const [ptr, path] of cases) it(`${JSON.stringify(ptr)} → ${JSON.stringify(path)}`, () => assert.equal(pointerToPath(ptr), path));
});

describe('checkRules', () => {
  it('walks arrays and nested objects and prefixes the rule fieldPath with the value path', () => {
    const policies = [
      { name: 'a', models: [{ name: 'm' }], router: { type: 'fixed', target: 'm' } },
      { name: 'b', models: [{ name: 'm' }, { name: 'm' }], router: { type: 'classifier', strong: 'm' } },
    ];
    const schema = { type: 'array', items: SidecarPolicy } as unknown as TSchema;
    assert.deepEqual(checkRules(schema, policies, 'policies').sort(), [
      'policies[1].models: model names must be unique',
      'policies[1].router.strong: classifier and random routers need strong and weak',
      'policies[1].router.threshold: set exactly one of threshold or strongFraction',
    ]);
  });

  it('ignores absent optional objects and non-objects', () => {
    assert.deepEqual(checkRules(Router, undefined), []);
    assert.deepEqual(checkRules(Router, 'fixed'), []);
  });
});

// ---------------------------------------------------------------------------- CEL ⇔ TypeScript check

/** CEL's error value: an evaluation error (e.g. selecting an absent field) that `||` / `&&` may absorb. */
class CelError {
  readonly why: string;
  constructor(why: string) { this.why = why; }
}
type Val = unknown;

type Node =
  | { k: 'lit'; v: Val }
  | { k: 'id'; name: string }
  | { k: 'sel'; on: Node; field: string }
  | { k: 'has'; on: Node; field: string }
  | { k: 'list'; items: Node[] }
  | { k: 'not'; e: Node }
  | { k: 'bin'; op: '||' | '&&' | '==' | '!=' | 'in'; l: Node; r: Node }
  | { k: 'macro'; fn: 'all' | 'exists' | 'exists_one'; on: Node; v: string; body: Node };

function tokenize(src: string): string[] {
  const re = /\s*(\|\||&&|==|!=|'[^']*'|"[^"]*"|[A-Za-z_][A-Za-z0-9_]*|[0-9]+(?:\.[0-9]+)?|[()[\],.!])/y;
  const out: string[] = [];
  let m: RegExpExecArray | null;
  while (re.lastIndex < src.length && (m = re.exec(src))) out.push(m[1]!);
  if (re.lastIndex !== src.length && src.slice(re.lastIndex).trim() !== '') throw new Error(`CEL: cannot tokenize ${src.slice(re.lastIndex)}`);
  return out;
}

/** Parses the CEL subset the contract uses; anything else is an error, so a new construct fails loudly. */
function parseCel(src: string): Node {
  const t = tokenize(src);
  let i = 0;
  const peek = () => t[i];
  const eat = (tok?: string) => {
    const x = t[i++];
    if (x === undefined || (tok !== undefined && x !== tok)) throw new Error(`CEL: expected ${tok ?? 'token'} at ${i - 1} in ${src}`);
    return x;
  };
  const ident = () => {
    const x = eat();
    if (!/^[A-Za-z_]/.test(x)) throw new Error(`CEL: expected identifier, got ${x}`);
    return x;
  };
  const or = (): Node => { let l = and(); while (peek() === '||') { eat(); l = { k: 'bin', op: '||', l, r: and() }; } return l; };
  const and = (): Node => { let l = rel(); while (peek() === '&&') { eat(); l = { k: 'bin', op: '&&', l, r: rel() }; } return l; };
  const rel = (): Node => {
    let l = unary();
    while (peek() === '==' || peek() === '!=' || peek() === 'in') { const op = eat() as '==' | '!=' | 'in'; l = { k: 'bin', op, l, r: unary() }; }
    return l;
  };
  const unary = (): Node => (peek() === '!' ? (eat(), { k: 'not', e: unary() }) : member());
  const member = (): Node => {
    let n = primary();
    while (peek() === '.') {
      eat('.');
      const name = ident();
      if (peek() === '(') {
        if (name !== 'all' && name !== 'exists' && name !== 'exists_one') throw new Error(`CEL: unsupported method ${name}`);
        eat('(');
        const v = ident();
        eat(',');
        const body = or();
        eat(')');
        n = { k: 'macro', fn: name, on: n, v, body };
      } else n = { k: 'sel', on: n, field: name };
    }
    return n;
  };
  const primary = (): Node => {
    const x = eat();
    if (x === '(') { const e = or(); eat(')'); return e; }
    if (x === '[') {
      const items: Node[] = [];
      while (peek() !== ']') { items.push(or()); if (peek() === ',') eat(','); }
      eat(']');
      return { k: 'list', items };
    }
    if (/^['"]/.test(x)) return { k: 'lit', v: x.slice(1, -1) };
    if (/^[0-9]/.test(x)) return { k: 'lit', v: Number(x) };
    if (x === 'true' || x === 'false') return { k: 'lit', v: x === 'true' };
    if (x === 'has') {
      eat('(');
      const arg = member();
      eat(')');
      if (arg.k !== 'sel') throw new Error('CEL: has() needs a field selection');
      return { k: 'has', on: arg.on, field: arg.field };
    }
    if (/^[A-Za-z_]/.test(x)) return { k: 'id', name: x };
    throw new Error(`CEL: unexpected ${x}`);
  };
  const ast = or();
  if (i !== t.length) throw new Error(`CEL: trailing tokens in ${src}`);
  return ast;
}

function evalCel(n: Node, env: Record<string, Val>): Val {
  const isObj = (v: Val): v is Record<string, Val> => typeof v === 'object' && v !== null && !Array.isArray(v);
  switch (n.k) {
    case 'lit': return n.v;
    case 'id': return n.name in env ? env[n.name] : new CelError(`undeclared ${n.name}`);
    case 'list': return n.items.map((e) => evalCel(e, env));
    case 'sel': {
      const on = evalCel(n.on, env);
      if (on instanceof CelError) return on;
      if (!isObj(on)) return new CelError(`select on non-object`);
      return on[n.field] === undefined ? new CelError(`no such key: ${n.field}`) : on[n.field];
    }
    case 'has': {
      const on = evalCel(n.on, env);
      if (on instanceof CelError) return on;
      if (!isObj(on)) return new CelError('has() on non-object');
      return on[n.field] !== undefined;
    }
    case 'not': {
      const v = evalCel(n.e, env);
      return typeof v === 'boolean' ? !v : v instanceof CelError ? v : new CelError('! on non-bool');
    }
    case 'bin': {
      const l = evalCel(n.l, env);
      const r = evalCel(n.r, env);
      if (n.op === '||' || n.op === '&&') {
        // CEL's commutative logic: a decisive operand wins over an error on the other side.
        const decisive = n.op === '||';
        if (l === decisive || r === decisive) return decisive;
        if (l instanceof CelError) return l;
        if (r instanceof CelError) return r;
        if (typeof l !== 'boolean' || typeof r !== 'boolean') return new CelError('logic on non-bool');
        return !decisive;
      }
      if (l instanceof CelError) return l;
      if (r instanceof CelError) return r;
      if (n.op === 'in') return Array.isArray(r) ? r.some((x) => x === l) : new CelError('in on non-list');
      return n.op === '==' ? l === r : l !== r;
    }
    case 'macro': {
      const on = evalCel(n.on, env);
      if (on instanceof CelError) return on;
      if (!Array.isArray(on)) return new CelError('macro on non-list');
      const vals = on.map((x) => evalCel(n.body, { ...env, [n.v]: x }));
      if (n.fn === 'exists_one') {
        const err = vals.find((v) => v instanceof CelError);
        return err ?? vals.filter((v) => v === true).length === 1;
      }
      const decisive = n.fn === 'exists';
      if (vals.some((v) => v === decisive)) return decisive;
      return vals.find((v) => v instanceof CelError) ?? !decisive;
    }
  }
}

/** The apiserver's verdict: a rule passes only when it evaluates to true (an error fails validation). */
const celPasses = (rule: string, self: Val) => evalCel(parseCel(rule), { self }) === true;

const rulesOf = (schema: TSchema): Rule[] => (schema as unknown as { 'x-kubernetes-validations': Rule[] })['x-kubernetes-validations'];

describe('the mini CEL evaluator itself', () => {
  it('evaluates the constructs the rules use', () => {
    const self = { a: 'x', l: [{ n: 1 }, { n: 2 }, { n: 2 }] };
    assert.equal(celPasses("self.a in ['x', 'y']", self), true);
    assert.equal(celPasses("!(self.a in ['y'])", self), true);
    assert.equal(celPasses('has(self.b)', self), false);
    assert.equal(celPasses('self.b == 1', self), false, 'absent field selection is an error, which fails the rule');
    assert.equal(celPasses("self.a == 'x' || self.b == 1", self), true, 'true || error is true');
    assert.equal(celPasses('self.l.exists_one(m, m.n == 1)', self), true);
    assert.equal(celPasses('self.l.exists_one(m, m.n == 2)', self), false);
    assert.throws(() => celPasses('self.l.all(m, m.n > 0)', self), /CEL/, 'an unsupported construct must fail loudly, not pass');
    assert.throws(() => celPasses('self.l.map(m, m.n)', self), /unsupported method/);
  });
});

describe('one rule, two enforcers: every TS check agrees with its CEL text', () => {
  const routerRules = rulesOf(Router);
  const policyRules = rulesOf(SidecarPolicy);
  const keyRules = rulesOf(SidecarProviderKey);

  it('every rule of the contract parses in the CEL subset, and the CRD variants carry the same rules', () => {
    for (const r of [...routerRules, ...policyRules, ...keyRules]) assert.doesNotThrow(() => parseCel(r.rule), r.rule);
    assert.deepEqual(rulesOf(RoutingPolicySpec).map((r) => r.rule), policyRules.map((r) => r.rule));
    assert.deepEqual(rulesOf(ProviderKeySpec).map((r) => r.rule), keyRules.map((r) => r.rule));
    assert.equal(routerRules.length, 3);
    assert.equal(policyRules.length, 5);
    assert.equal(keyRules.length, 1);
  });

  // Verdicts derived by reading the CEL text, not by running either enforcer.
  const routers: { self: Json; pass: [boolean, boolean, boolean] }[] = [
    // [fixed needs target, classifier/random need strong & weak, exactly one of threshold/strongFraction]
    { self: { type: 'fixed', target: 'a' }, pass: [true, true, true] },
    { self: { type: 'fixed' }, pass: [false, true, true] },
    { self: { type: 'fixed', target: 'a', threshold: 0.5, strongFraction: 0.5 }, pass: [true, true, true] },
    { self: { type: 'classifier', strong: 's', weak: 'w', threshold: 0.4 }, pass: [true, true, true] },
    { self: { type: 'classifier', strong: 's', weak: 'w', strongFraction: 0 }, pass: [true, true, true] },
    { self: { type: 'classifier', strong: 's', weak: 'w' }, pass: [true, true, false] },
    { self: { type: 'classifier', strong: 's', weak: 'w', threshold: 0, strongFraction: 1 }, pass: [true, true, false] },
    { self: { type: 'classifier', strong: 's', threshold: 0.4 }, pass: [true, false, true] },
    { self: { type: 'random', weak: 'w', strongFraction: 0.1 }, pass: [true, false, true] },
    { self: { type: 'random', target: 't' }, pass: [true, false, false] },
    { self: { type: 'random', strong: '', weak: '', threshold: 1 }, pass: [true, true, true] },
  ];
  for (const [i, s] of routers.entries()) {
    it(`router sample ${i}: ${JSON.stringify(s.self)}`, () => {
      routerRules.forEach((r, j) => {
        assert.equal(r.check(s.self), s.pass[j], `TS check of "${r.message}"`);
        assert.equal(celPasses(r.rule, s.self), s.pass[j], `CEL of "${r.message}"`);
      });
    });
  }

  const m = (...names: string[]) => names.map((name) => ({ name }));
  const policies: { self: Json; pass: [boolean, boolean, boolean, boolean, boolean] }[] = [
    // [unique names, target, strong, weak, fallbacks]
    { self: { models: m('a', 'b'), router: { type: 'classifier', strong: 'a', weak: 'b' } }, pass: [true, true, true, true, true] },
    { self: { models: m('a', 'a'), router: { type: 'classifier', strong: 'a', weak: 'a' } }, pass: [false, true, true, true, true] },
    { self: { models: m('a', 'b', 'a'), router: { type: 'fixed', target: 'b' } }, pass: [false, true, true, true, true] },
    { self: { models: m('a'), router: { type: 'fixed', target: 'z' } }, pass: [true, false, true, true, true] },
    { self: { models: m('a'), router: { type: 'classifier', strong: 'z', weak: 'a' } }, pass: [true, true, false, true, true] },
    { self: { models: m('a'), router: { type: 'classifier', strong: 'a', weak: 'z' } }, pass: [true, true, true, false, true] },
    { self: { models: m('a', 'b'), router: { type: 'fixed', target: 'a' }, fallbacks: [{ from: 'a', to: ['b'] }] }, pass: [true, true, true, true, true] },
    { self: { models: m('a', 'b'), router: { type: 'fixed', target: 'a' }, fallbacks: [{ from: 'c', to: ['b'] }] }, pass: [true, true, true, true, false] },
    { self: { models: m('a', 'b'), router: { type: 'fixed', target: 'a' }, fallbacks: [{ from: 'a', to: ['b', 'c'] }] }, pass: [true, true, true, true, false] },
    { self: { models: m('a', 'b'), router: { type: 'fixed', target: 'a' }, fallbacks: [] }, pass: [true, true, true, true, true] },
    { self: { models: m('a', 'b'), router: { type: 'fixed', target: 'a' }, fallbacks: [{ from: 'a', to: ['b'] }, { from: 'b', to: ['x'] }] }, pass: [true, true, true, true, false] },
    { self: { models: m('x', 'y'), router: { type: 'fixed' } }, pass: [true, true, true, true, true] },
  ];
  for (const [i, s] of policies.entries()) {
    it(`policy sample ${i}: ${JSON.stringify(s.self)}`, () => {
      policyRules.forEach((r, j) => {
        assert.equal(r.check(s.self), s.pass[j], `TS check of "${r.message}"`);
        assert.equal(celPasses(r.rule, s.self), s.pass[j], `CEL of "${r.message}"`);
      });
    });
  }

  const keys: { self: Json; pass: boolean }[] = [
    { self: { provider: 'openai' }, pass: true },
    { self: { provider: 'anthropic' }, pass: true },
    { self: { provider: 'gemini' }, pass: true },
    { self: { provider: 'azure-openai' }, pass: false },
    { self: { provider: 'azure-openai', baseURL: 'https://r.openai.azure.com' }, pass: true },
    { self: { provider: 'openai-compatible' }, pass: false },
    { self: { provider: 'openai-compatible', baseURL: 'http://vllm' }, pass: true },
  ];
  for (const s of keys) {
    it(`providerKey sample ${JSON.stringify(s.self)}`, () => {
      assert.equal(keyRules[0]!.check(s.self), s.pass, 'TS check');
      assert.equal(celPasses(keyRules[0]!.rule, s.self), s.pass, 'CEL');
    });
  }

  const name = fc.constantFrom('a', 'b', 'c');
  const router = fc.record({
    type: fc.constantFrom('classifier', 'random', 'fixed'),
    target: name, strong: name, weak: name,
    threshold: fc.double({ min: 0, max: 1, noNaN: true }), strongFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  }, { requiredKeys: ['type'] });
  const policy = fc.record({
    models: fc.array(name.map((n) => ({ name: n })), { minLength: 1, maxLength: 4 }),
    router,
    fallbacks: fc.array(fc.record({ from: name, to: fc.array(name, { minLength: 1, maxLength: 3 }) }), { maxLength: 3 }),
  }, { requiredKeys: ['models', 'router'] });

  it('property: on random routers, CEL and TS agree on every router rule', () => {
    fc.assert(fc.property(router, (self) => routerRules.every((r) => r.check(self) === celPasses(r.rule, self))), { numRuns: 500 });
  });
  it('property: on random policies, CEL and TS agree on every policy rule', () => {
    fc.assert(fc.property(policy, (self) => policyRules.every((r) => r.check(self) === celPasses(r.rule, self))), { numRuns: 500 });
  });
  it('property: on random provider keys, CEL and TS agree', () => {
    const key = fc.record({ provider: fc.constantFrom('openai', 'azure-openai', 'anthropic', 'gemini', 'openai-compatible'), baseURL: fc.constant('https://x') }, { requiredKeys: ['provider'] });
    fc.assert(fc.property(key, (self) => keyRules[0]!.check(self) === celPasses(keyRules[0]!.rule, self)), { numRuns: 200 });
  });
});
