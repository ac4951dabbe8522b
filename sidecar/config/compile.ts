// Validated SidecarConfig → the runtime form the request path reads: lookups by name, durations in ms,
// an adapter and a ready Target per deployment. Pure; the same for files and operator pushes.

import type { ErrorClass } from '../../api/common.ts';
import type { SidecarConfig } from '../../api/sidecarConfig.ts';
import { configVersion } from '../../api/version.ts';

export { configVersion };
import type { Router, SidecarPolicy } from '../../api/routingPolicy.ts';
import { PROVIDERS } from '../providers/index.ts';
import type { ProviderAdapter, Target } from '../providers/types.ts';
import type { Strategy } from '../resilience/balancer.ts';
import type { CooldownSettings } from '../resilience/health.ts';
import type { BackoffSettings } from '../resilience/backoff.ts';
import { parseDuration } from './duration.ts';

export interface CompiledDeployment {
  /** Stable upstream identity (key, endpoint, model): the health registry's key. */
  id: string;
  keyName: string;
  adapter: ProviderAdapter;
  target: Target;
  weight: number;
}

export interface CompiledModel { name: string; strategy: Strategy; deployments: CompiledDeployment[] }

export interface CompiledPolicy {
  name: string;
  models: Map<string, CompiledModel>;
  router: Router;
  /** The provider model ids the classifier places for the strong and weak targets (their first deployments). */
  routerIds?: { strong: string; weak: string };
  /** Ratings given on model targets, by provider model id, for the classifier's placement. */
  ratings: Record<string, number>;
  /** Fallback rules in order: from model → targets, per error class. */
  fallbacks: { from: string; to: string[]; when: Set<ErrorClass> }[];
  retries: BackoffSettings & { attempts: number };
  timeouts: { connectMs: number; firstByteMs: number; idleMs: number };
  cooldown: CooldownSettings;
}

export interface CompiledConfig {
  version: string;
  policies: Map<string, CompiledPolicy>;
  defaultPolicy: CompiledPolicy;
  /** Model name → the first policy that defines it. */
  modelOwners: Map<string, CompiledPolicy>;
  deploymentIds: Set<string>;
}

export function compileConfig(cfg: SidecarConfig): CompiledConfig {
  const keys = new Map(cfg.providerKeys.map((k) => [k.name, k]));
  const deploymentIds = new Set<string>();
  const policies = new Map<string, CompiledPolicy>();
  const modelOwners = new Map<string, CompiledPolicy>();

  for (const p of cfg.policies) {
    const compiled = compilePolicy(p, (keyName, model, weight) => {
      const key = keys.get(keyName)!; // references were checked by validateSidecarConfig
      const adapter = PROVIDERS[key.provider];
      const baseURL = key.baseURL ?? adapter.defaultBaseURL!;
      const id = `${keyName}|${baseURL}|${model}`;
      deploymentIds.add(id);
      const target: Target = { provider: key.provider, baseURL, apiKey: key.apiKey, model, ...(key.apiVersion ? { apiVersion: key.apiVersion } : {}), ...(key.headers ? { headers: key.headers } : {}) };
      return { id, keyName, adapter, target, weight };
    });
    policies.set(p.name, compiled);
    for (const m of compiled.models.keys()) if (!modelOwners.has(m)) modelOwners.set(m, compiled);
  }
  return { version: cfg.version ?? configVersion(cfg), policies, defaultPolicy: policies.get(cfg.policies[0]!.name)!, modelOwners, deploymentIds };
}

function compilePolicy(p: SidecarPolicy, deployment: (key: string, model: string, weight: number) => CompiledDeployment): CompiledPolicy {
  return {
    name: p.name,
    models: new Map(p.models.map((m) => [m.name, {
      name: m.name,
      strategy: m.loadBalancing,
      deployments: m.deployments.map((d) => deployment(d.providerKey, d.model, d.weight)),
    }])),
    router: p.router,
    ...(p.router.strong && p.router.weak ? { routerIds: { strong: firstModel(p, p.router.strong), weak: firstModel(p, p.router.weak) } } : {}),
    ratings: Object.fromEntries(p.models.filter((m) => m.rating !== undefined).map((m) => [m.deployments[0]!.model, m.rating!])),
    fallbacks: (p.fallbacks ?? []).map((f) => ({ from: f.from, to: f.to, when: new Set(f.when) })),
    retries: { attempts: p.retries.attempts, backoff: p.retries.backoff, baseMs: parseDuration(p.retries.baseDelay), maxMs: parseDuration(p.retries.maxDelay) },
    timeouts: { connectMs: parseDuration(p.timeouts.connect), firstByteMs: parseDuration(p.timeouts.firstByte), idleMs: parseDuration(p.timeouts.idle) },
    cooldown: {
      durationMs: parseDuration(p.cooldown.duration), failureRate: p.cooldown.failureRate,
      windowMs: parseDuration(p.cooldown.window), minRequests: p.cooldown.minRequests,
    },
  };
}

const firstModel = (p: SidecarPolicy, target: string) => p.models.find((m) => m.name === target)!.deployments[0]!.model;
