// The config compiler: custom resources + Secrets + a pod's identity → that pod's sidecar config.
// Pure. A pod gets only the policies that select it and only the keys those policies may use.

import type { SidecarConfig } from '../api/sidecarConfig.ts';
import type { SidecarProviderKey } from '../api/providerKey.ts';
import type { SidecarPolicy } from '../api/routingPolicy.ts';
import { configVersion } from '../api/version.ts';
import type { PodIdentity, ProviderKey, RoutingPolicy, SecretData } from './objects.ts';
import { selectorMatches } from './selector.ts';

export interface World {
  policies: readonly RoutingPolicy[];
  /** By namespace/name. */
  keys: ReadonlyMap<string, ProviderKey>;
  /** By namespace/name, values decoded. */
  secrets: ReadonlyMap<string, SecretData>;
}

export type RefReason = 'ProviderKeyNotFound' | 'NamespaceNotAllowed' | 'SecretNotFound' | 'SecretKeyNotFound';
export interface RefProblem { reason: RefReason; message: string }

/** The namespace/name a deployment's providerKey refers to, seen from a policy in `ns`. */
export const keyRef = (ns: string, ref: string) => (ref.includes('/') ? ref : `${ns}/${ref}`);

export function keyAllows(key: ProviderKey, ns: string): boolean {
  if (key.metadata.namespace === ns) return true;
  const allowed = key.spec.allowedNamespaces ?? [];
  return allowed.includes('*') || allowed.includes(ns);
}

/** Every ProviderKey a policy references, with the credential, or the problems that stop it. */
export function resolveRefs(p: RoutingPolicy, world: World): { keys: Map<string, SidecarProviderKey>; problems: RefProblem[] } {
  const keys = new Map<string, SidecarProviderKey>();
  const problems: RefProblem[] = [];
  const ns = p.metadata.namespace;
  const refs = new Set(p.spec.models.flatMap((m) => m.deployments.map((d) => keyRef(ns, d.providerKey))));
  for (const ref of [...refs].sort()) {
    const key = world.keys.get(ref);
    if (!key) { problems.push({ reason: 'ProviderKeyNotFound', message: `ProviderKey ${ref} does not exist` }); continue; }
    if (!keyAllows(key, ns)) { problems.push({ reason: 'NamespaceNotAllowed', message: `ProviderKey ${ref} does not allow namespace ${ns} (allowedNamespaces)` }); continue; }
    const secretName = `${key.metadata.namespace}/${key.spec.secretRef.name}`;
    const secret = world.secrets.get(secretName);
    if (!secret) { problems.push({ reason: 'SecretNotFound', message: `Secret ${secretName} for ProviderKey ${ref} does not exist` }); continue; }
    const value = secret.data[key.spec.secretRef.key];
    if (value === undefined) { problems.push({ reason: 'SecretKeyNotFound', message: `Secret ${secretName} has no key "${key.spec.secretRef.key}"` }); continue; }
    const { provider, baseURL, apiVersion, headers } = key.spec;
    keys.set(ref, {
      name: ref, provider, apiKey: value.trim(),
      ...(baseURL ? { baseURL } : {}), ...(apiVersion ? { apiVersion } : {}), ...(headers ? { headers } : {}),
    });
  }
  return { keys, problems };
}

/** Policies in the pod's namespace whose selector matches it, by name (the first is the default). */
export function policiesSelecting(pod: PodIdentity, policies: readonly RoutingPolicy[]): RoutingPolicy[] {
  return policies
    .filter((p) => p.metadata.namespace === pod.namespace && selectorMatches(p.spec.selector, pod.labels))
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

export interface PodConfig {
  /** Undefined when no selecting policy resolves: the pod has nothing to serve. */
  config: SidecarConfig | undefined;
  /** Selecting policies that were left out, and why. */
  excluded: { policy: string; problems: RefProblem[] }[];
}

export function compileForPod(pod: PodIdentity, world: World): PodConfig {
  const providerKeys = new Map<string, SidecarProviderKey>();
  const policies: SidecarPolicy[] = [];
  const excluded: PodConfig['excluded'] = [];
  for (const p of policiesSelecting(pod, world.policies)) {
    const { keys, problems } = resolveRefs(p, world);
    if (problems.length) { excluded.push({ policy: p.metadata.name, problems }); continue; }
    for (const [ref, k] of keys) providerKeys.set(ref, k);
    const { selector: _selector, ...spec } = p.spec;
    policies.push({
      name: p.metadata.name,
      ...spec,
      models: spec.models.map((m) => ({ ...m, deployments: m.deployments.map((d) => ({ ...d, providerKey: keyRef(pod.namespace, d.providerKey) })) })),
    });
  }
  if (policies.length === 0) return { config: undefined, excluded };
  const content: SidecarConfig = { providerKeys: [...providerKeys.values()].sort((a, b) => a.name.localeCompare(b.name)), policies };
  return { config: { version: configVersion(content), ...content }, excluded };
}
