// RoutingPolicy: what a set of pods may call and how each request is routed, retried and failed over.

import { Type, type Static } from '@sinclair/typebox';
import { Duration, ERROR_CLASSES, Name, Obj, StringEnum, StringMap } from './common.ts';
import { rules, type Rule } from './rules.ts';

const MAX_MODELS = 16;

export const Deployment = Obj({
  providerKey: Type.String({
    description: 'ProviderKey name, or namespace/name for a key in another namespace that allows this one.',
    minLength: 1, maxLength: 253,
  }),
  model: Type.String({ description: 'Provider-side model id (for azure-openai: the deployment name).', minLength: 1, maxLength: 256 }),
  weight: Type.Integer({ description: 'Relative share under weighted load balancing.', minimum: 0, maximum: 1000, default: 1 }),
});

export const LOAD_BALANCING = ['weighted', 'leastBusy', 'lowestLatency'] as const;

export const ModelTarget = Obj({
  name: Name('The name requests and the router use for this target.'),
  deployments: Type.Array(Deployment, { description: 'Interchangeable deployments, load-balanced.', minItems: 1, maxItems: 16 }),
  rating: Type.Optional(Type.Number({
    description: "Arena-Hard-Auto rating of the first deployment's model, for the classifier to place a model it was not trained on and whose id is not in its rating table.",
    minimum: 0, maximum: 100,
  })),
  loadBalancing: StringEnum(LOAD_BALANCING, {
    description: 'How a deployment is picked: weighted random, fewest in flight, or lowest recent latency. Deployments in cooldown are skipped.',
    default: 'weighted',
  }),
});

export const ROUTER_TYPES = ['classifier', 'random', 'fixed'] as const;
export const ROUTER_INPUTS = ['lastUser', 'conversation'] as const;

type RouterT = { type: string; target?: string; strong?: string; weak?: string; threshold?: number; strongFraction?: number };

export const Router = Obj({
  type: StringEnum(ROUTER_TYPES, { description: 'classifier scores each prompt; random picks by strongFraction; fixed always sends to target.', default: 'classifier' }),
  target: Type.Optional(Type.String({ description: 'The model every request goes to (type fixed).', maxLength: 63 })),
  strong: Type.Optional(Type.String({ description: 'The model used when the score reaches the threshold.', maxLength: 63 })),
  weak: Type.Optional(Type.String({ description: 'The model used below the threshold.', maxLength: 63 })),
  threshold: Type.Optional(Type.Number({ description: 'Route to strong when score >= threshold.', minimum: 0, maximum: 1 })),
  strongFraction: Type.Optional(Type.Number({ description: 'Target share of requests sent to strong; the threshold is calibrated to it.', minimum: 0, maximum: 1 })),
  model: Type.Optional(Type.String({ description: 'Classifier model: "builtin" or a path/URL to an ONNX router meeting the documented contract.', maxLength: 2048, default: 'builtin' })),
  input: StringEnum(ROUTER_INPUTS, { description: 'What the classifier reads: the last user turn or the whole conversation (truncated).', default: 'lastUser' }),
  onRouterError: StringEnum(['strong', 'weak'] as const, { description: 'Where requests go when the classifier cannot score.', default: 'strong' }),
}, {
  description: 'How the policy picks a model for requests that name the policy.',
  ...rules<RouterT>(
    { rule: "self.type != 'fixed' || has(self.target)", message: 'a fixed router needs target', fieldPath: '.target',
      check: (r) => r.type !== 'fixed' || r.target !== undefined },
    { rule: "self.type == 'fixed' || (has(self.strong) && has(self.weak))", message: 'classifier and random routers need strong and weak', fieldPath: '.strong',
      check: (r) => r.type === 'fixed' || (r.strong !== undefined && r.weak !== undefined) },
    { rule: "self.type == 'fixed' || (has(self.threshold) != has(self.strongFraction))", message: 'set exactly one of threshold or strongFraction', fieldPath: '.threshold',
      check: (r) => r.type === 'fixed' || (r.threshold !== undefined) !== (r.strongFraction !== undefined) },
  ),
});

export const Fallback = Obj({
  from: Type.String({ description: 'The model whose failure triggers this fallback.', maxLength: 63 }),
  to: Type.Array(Type.String({ maxLength: 63 }), { description: 'Models tried in order.', minItems: 1, maxItems: 8 }),
  when: Type.Array(StringEnum(ERROR_CLASSES), {
    description: 'Error classes that trigger it.', minItems: 1, maxItems: ERROR_CLASSES.length,
    default: ['rateLimited', 'serverError', 'timeout', 'connection'],
  }),
});

export const Retries = Obj({
  attempts: Type.Integer({ description: 'Retries per model after the first try, on rateLimited, serverError, timeout and connection errors.', minimum: 0, maximum: 5, default: 2 }),
  backoff: StringEnum(['exponential', 'constant'] as const, { description: 'Delay growth between retries (with full jitter).', default: 'exponential' }),
  baseDelay: Duration('First retry delay.', '200ms'),
  maxDelay: Duration('Cap on a retry delay; a Retry-After above it skips straight to fallbacks.', '8s'),
}, { default: {} });

export const Timeouts = Obj({
  connect: Duration('TCP/TLS connect timeout.', '5s'),
  firstByte: Duration('Time until the response headers arrive.', '60s'),
  idle: Duration('Longest gap between body bytes: stream chunks, or the parts of a non-streamed body.', '60s'),
}, { default: {} });

export const Cooldown = Obj({
  duration: Duration('How long a deployment is skipped once in cooldown.', '30s'),
  failureRate: Type.Number({ description: 'Failure share over window that starts a cooldown.', minimum: 0, maximum: 1, default: 0.5 }),
  window: Duration('Window over which failureRate is measured.', '60s'),
  minRequests: Type.Integer({ description: 'Requests in window before failureRate applies.', minimum: 1, maximum: 10000, default: 5 }),
}, { description: 'A deployment enters cooldown on a 429 or when its failure rate crosses failureRate.', default: {} });

const policyFields = {
  models: Type.Array(ModelTarget, { description: 'Named targets this policy may route to.', minItems: 1, maxItems: MAX_MODELS }),
  router: Router,
  fallbacks: Type.Optional(Type.Array(Fallback, { description: 'Ordered fallbacks per failing model and error class. Not chained.', maxItems: 32 })),
  retries: Retries,
  timeouts: Timeouts,
  cooldown: Cooldown,
};

interface PolicyShape { models: { name: string }[]; router: RouterT; fallbacks?: { from: string; to: string[] }[] }
const has = (p: PolicyShape, name: string | undefined) => name === undefined || p.models.some((m) => m.name === name);
const policyRules: Rule<PolicyShape>[] = [
  { rule: 'self.models.all(m, self.models.exists_one(n, n.name == m.name))', message: 'model names must be unique', fieldPath: '.models',
    check: (p) => new Set(p.models.map((m) => m.name)).size === p.models.length },
  { rule: '!has(self.router.target) || self.models.exists(m, m.name == self.router.target)', message: 'router.target must name a model in models', fieldPath: '.router.target',
    check: (p) => has(p, p.router.target) },
  { rule: '!has(self.router.strong) || self.models.exists(m, m.name == self.router.strong)', message: 'router.strong must name a model in models', fieldPath: '.router.strong',
    check: (p) => has(p, p.router.strong) },
  { rule: '!has(self.router.weak) || self.models.exists(m, m.name == self.router.weak)', message: 'router.weak must name a model in models', fieldPath: '.router.weak',
    check: (p) => has(p, p.router.weak) },
  { rule: '!has(self.fallbacks) || self.fallbacks.all(f, self.models.exists(m, m.name == f.from) && f.to.all(t, self.models.exists(m, m.name == t)))',
    message: 'fallbacks must name models in models', fieldPath: '.fallbacks',
    check: (p) => (p.fallbacks ?? []).every((f) => has(p, f.from) && f.to.every((t) => has(p, t))) },
];

/** The RoutingPolicy CRD's spec. */
export const RoutingPolicySpec = Obj({
  selector: Obj({
    matchLabels: Type.Optional(StringMap({ maxProperties: 32 })),
    matchExpressions: Type.Optional(Type.Array(Obj({
      key: Type.String({ maxLength: 317 }),
      operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'] as const),
      values: Type.Optional(Type.Array(Type.String({ maxLength: 63 }), { maxItems: 64 })),
    }), { maxItems: 16 })),
  }, { description: 'Pods (in this namespace) that get this policy. An empty selector selects every pod.' }),
  ...policyFields,
}, { description: 'What a set of pods may call and how requests are routed.', ...rules(...policyRules) });
export type RoutingPolicySpec = Static<typeof RoutingPolicySpec>;

/** A RoutingPolicy as the sidecar holds it: named, without a selector. */
export const SidecarPolicy = Obj({
  name: Name('How requests refer to this policy (the `model` field).'),
  ...policyFields,
}, rules(...policyRules));
export type SidecarPolicy = Static<typeof SidecarPolicy>;
export type ModelTarget = Static<typeof ModelTarget>;
export type Deployment = Static<typeof Deployment>;
export type Router = Static<typeof Router>;
export type Fallback = Static<typeof Fallback>;
