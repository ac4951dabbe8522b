// The level-triggered core: informers feed a work queue; each key is reconciled from the current state of
// the world (never from the event that queued it); status is server-side applied only by the leader and
// only when it changed. Every replica serves config streams from the same informer caches.

import type { KubeConfig, KubernetesObject, V1ConfigMap, V1Namespace, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../sidecar/log.ts';
import { compileForPod, resolveRefs, type World, type RefProblem } from './compile.ts';
import { Distributor, type PolicySidecars } from './distributor.ts';
import { LABEL_SIDECAR } from './inject.ts';
import { Informer } from './kube/informer.ts';
import { Kube, KubeError, corePath, crPath } from './kube/rest.ts';
import type { LeaderElector } from './leader.ts';
import { nsName, type PodIdentity, type ProviderKey, type RoutingPolicy, type SecretData } from './objects.ts';
import { WorkQueue } from './queue.ts';
import { keyStatus, policyStatus, sameStatus } from './status.ts';

export const FIELD_MANAGER = 'triage-operator';
const SESSIONS_LABEL = 'triage.dev/sessions';
const HEARTBEAT_MS = 15_000;

export interface ControllerOptions {
  kube: Kube;
  kc: KubeConfig;
  /** The operator's own namespace (replica session reports live here). */
  namespace: string;
  identity: string;
  leader: LeaderElector;
  log: Logger;
  authenticate: (token: string) => Promise<{ namespace: string; name: string; uid: string } | { error: string }>;
  secretResyncMs?: number;
}

export class Controller {
  readonly policies: Informer<RoutingPolicy>;
  readonly keys: Informer<ProviderKey>;
  readonly pods: Informer<V1Pod>;
  readonly namespaces: Informer<V1Namespace>;
  readonly reports: Informer<V1ConfigMap>;
  readonly distributor: Distributor;
  /** Secrets a ProviderKey points at, by namespace/name; null when it does not exist. */
  readonly secrets = new Map<string, SecretData | null>();
  readonly #o: ControllerOptions;
  readonly #queue: WorkQueue;
  readonly #timers: NodeJS.Timeout[] = [];
  #reportTimer: NodeJS.Timeout | undefined;
  #world: World | undefined;
  #lastReport = '';

  constructor(o: ControllerOptions) {
    this.#o = o;
    const inf = <T extends KubernetesObject>(name: string, path: string, labelSelector?: string) =>
      new Informer<T>(o.kube, o.kc, { name, path, ...(labelSelector ? { labelSelector } : {}) }, o.log);
    this.policies = inf<RoutingPolicy>('routingpolicies', crPath('routingpolicies'));
    this.keys = inf<ProviderKey>('providerkeys', crPath('providerkeys'));
    this.pods = inf<V1Pod>('pods', corePath('pods'), `${LABEL_SIDECAR}=injected`);
    this.namespaces = inf<V1Namespace>('namespaces', corePath('namespaces'));
    this.reports = inf<V1ConfigMap>('session-reports', corePath('configmaps', o.namespace), `${SESSIONS_LABEL}=true`);
    this.distributor = new Distributor({
      authenticate: o.authenticate,
      pod: (ns, name, uid) => this.#podIdentity(ns, name, uid),
      compile: (pod) => compileForPod(pod, this.world()),
      log: o.log,
    });
    this.#queue = new WorkQueue((key) => this.#reconcile(key), {
      onError: (key, err) => o.log.warn({ key, err: (err as Error).message }, 'reconcile failed; retrying'),
    });
  }

  /** The informer caches and loaded Secrets as one snapshot, rebuilt only after something changed:
   * a refresh compiles every session's config against it. */
  world(): World {
    return this.#world ??= {
      policies: this.policies.list(),
      keys: new Map(this.keys.list().map((k) => [nsName(k), k])),
      secrets: new Map([...this.secrets].filter((e): e is [string, SecretData] => e[1] !== null)),
    };
  }

  async start(): Promise<void> {
    const o = this.#o;
    const invalidate = () => { this.#world = undefined; };
    this.policies.on(invalidate);
    this.keys.on(invalidate);
    this.policies.on((p) => { this.#queue.add(`policy:${nsName(p)}`); this.distributor.refresh(); });
    this.keys.on((k, verb) => {
      if (verb !== 'delete') void this.#loadSecret(k).then(() => this.#keyChanged(k));
      else this.#keyChanged(k);
    });
    this.pods.on((pod, verb) => {
      const uid = pod.metadata?.uid ?? '';
      if (verb === 'delete') this.distributor.dropPod(uid);
      else this.distributor.updatePod(identityOf(pod), uid);
    });
    this.reports.on(() => { if (o.leader.isLeader()) this.#queueAllPolicies(); });
    this.distributor.onChange = () => this.#scheduleReport();
    o.leader.onChange = (leader) => { if (leader) { this.#queueAllPolicies(); for (const k of this.keys.list()) this.#queue.add(`key:${nsName(k)}`); } };

    await Promise.all([this.namespaces.start(), this.pods.start(), this.reports.start()]);
    await this.keys.start();
    await Promise.all(this.keys.list().map((k) => this.#loadSecret(k)));
    await this.policies.start();
    // Secrets are read by name only (no list/watch of Secrets); rotations are picked up on this period.
    this.#timers.push(setInterval(() => void this.#resyncSecrets(), o.secretResyncMs ?? 30_000));
    this.#timers.push(setInterval(() => this.#scheduleReport(true), HEARTBEAT_MS));
    this.#scheduleReport(true);
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearInterval(t);
    clearTimeout(this.#reportTimer);
    this.#queue.stop();
    for (const s of this.distributor.sessions) s.close();
    await Promise.all([this.policies, this.keys, this.pods, this.namespaces, this.reports].map((i) => i.stop()));
    await this.#o.kube.request('DELETE', corePath('configmaps', this.#o.namespace, this.#reportName())).catch(() => undefined);
  }

  /** Whether any policy selecting a pod with these labels resolves (for the webhook). */
  podConfigReady(namespace: string, labels: Record<string, string>): { ready: boolean; reason?: string } {
    const { config, excluded } = compileForPod({ namespace, name: '', labels }, this.world());
    if (config) return { ready: true };
    return { ready: false, reason: excluded.length ? `${excluded[0]!.policy}: ${excluded[0]!.problems[0]!.message}` : 'no RoutingPolicy selects this pod' };
  }

  namespaceLabels(ns: string): Record<string, string> {
    return this.namespaces.get(ns)?.metadata?.labels ?? {};
  }

  #keyChanged(k: ProviderKey): void {
    this.#queue.add(`key:${nsName(k)}`);
    this.#queueAllPolicies();
    this.distributor.refresh();
  }

  #queueAllPolicies(): void {
    for (const p of this.policies.list()) this.#queue.add(`policy:${nsName(p)}`);
  }

  async #loadSecret(k: ProviderKey): Promise<void> {
    const ns = k.metadata.namespace;
    const name = k.spec.secretRef.name;
    try {
      const s = await this.#o.kube.find(corePath('secrets', ns, name));
      this.secrets.set(`${ns}/${name}`, s ? { namespace: ns, name, data: decode(s.data) } : null);
      this.#world = undefined;
    } catch (err) {
      // Forbidden or transient: keep what we had; the resync retries.
      this.#o.log.warn({ secret: `${ns}/${name}`, status: (err as KubeError).status }, 'cannot read Secret');
    }
  }

  async #resyncSecrets(): Promise<void> {
    const before = JSON.stringify([...this.secrets]);
    const wanted = new Set(this.keys.list().map((k) => `${k.metadata.namespace}/${k.spec.secretRef.name}`));
    for (const id of this.secrets.keys()) if (!wanted.has(id)) this.secrets.delete(id);
    this.#world = undefined;
    await Promise.all(this.keys.list().map((k) => this.#loadSecret(k)));
    if (JSON.stringify([...this.secrets]) !== before) {
      for (const k of this.keys.list()) this.#queue.add(`key:${nsName(k)}`);
      this.#queueAllPolicies();
      this.distributor.refresh();
    }
  }

  async #podIdentity(ns: string, name: string, uid: string): Promise<PodIdentity | undefined> {
    const pod = this.pods.get(name, ns) ?? await this.#o.kube.find<V1Pod>(corePath('pods', ns, name));
    if (!pod || pod.metadata?.uid !== uid) return undefined;
    return identityOf(pod);
  }

  async #reconcile(key: string): Promise<void> {
    const [kind, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    const [ns, name] = id.split('/') as [string, string];
    if (!this.#o.leader.isLeader()) return;
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    if (kind === 'policy') {
      const p = this.policies.get(name, ns);
      if (!p) return;
      const { problems } = resolveRefs(p, this.world());
      const status = policyStatus(p, problems, this.#sidecarsOf(id), now);
      if (sameStatus(status, p.status)) return;
      await this.#applyStatus(crPath('routingpolicies', ns, name, 'status'), 'RoutingPolicy', ns, name, status);
      this.#eventOnTransition(p, p.status?.conditions?.find((c) => c.type === 'ResolvedRefs')?.status, status.conditions!.find((c) => c.type === 'ResolvedRefs')!, 'RoutingPolicy');
    } else {
      const k = this.keys.get(name, ns);
      if (!k) return;
      const status = keyStatus(k, this.#secretProblem(k), now);
      if (sameStatus(status, k.status)) return;
      await this.#applyStatus(crPath('providerkeys', ns, name, 'status'), 'ProviderKey', ns, name, status);
      this.#eventOnTransition(k, k.status?.conditions?.find((c) => c.type === 'SecretResolved')?.status, status.conditions!.find((c) => c.type === 'SecretResolved')!, 'ProviderKey');
    }
  }

  #secretProblem(k: ProviderKey): RefProblem | undefined {
    const id = `${k.metadata.namespace}/${k.spec.secretRef.name}`;
    const s = this.secrets.get(id);
    if (!s) return { reason: 'SecretNotFound', message: `Secret ${id} does not exist` };
    if (s.data[k.spec.secretRef.key] === undefined) return { reason: 'SecretKeyNotFound', message: `Secret ${id} has no key "${k.spec.secretRef.key}"` };
    return undefined;
  }

  async #applyStatus(path: string, kind: string, namespace: string, name: string, status: unknown): Promise<void> {
    try {
      await this.#o.kube.apply(path, { apiVersion: 'triage.dev/v1alpha1', kind, metadata: { name, namespace }, status }, FIELD_MANAGER);
    } catch (err) {
      if (err instanceof KubeError && err.status === 404) return; // deleted meanwhile
      throw err;
    }
  }

  #eventOnTransition(obj: RoutingPolicy | ProviderKey, before: string | undefined, after: { status: string; reason: string; message: string }, kind: string): void {
    if (before === after.status) return;
    if (before === undefined && after.status === 'True') return; // a healthy first reconcile is not news
    const type = after.status === 'True' ? 'Normal' : 'Warning';
    void this.event(obj.metadata.namespace, { kind, name: obj.metadata.name, uid: obj.metadata.uid, apiVersion: 'triage.dev/v1alpha1' }, type, after.reason, after.message);
  }

  /** Records a core/v1 Event. Best effort: a failed Event never fails a reconcile or an admission. */
  async event(ns: string, involved: { kind: string; name: string; uid?: string; apiVersion: string }, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    await this.#o.kube.request('POST', corePath('events', ns), {
      apiVersion: 'v1', kind: 'Event',
      metadata: { generateName: `${involved.name || 'pod'}.`, namespace: ns },
      involvedObject: { ...involved, namespace: ns },
      reason, message: message.slice(0, 1024), type, count: 1, firstTimestamp: now, lastTimestamp: now,
      source: { component: 'triage-operator' }, reportingComponent: 'triage.dev/operator', reportingInstance: this.#o.identity,
    }).catch((err: Error) => this.#o.log.warn({ reason, err: err.message }, 'cannot record Event'));
  }

  /** Sidecar counts for a policy across every replica's session report (stale reports ignored). */
  #sidecarsOf(policy: string): PolicySidecars {
    const total: PolicySidecars = { connected: 0, inSync: 0, nacks: [] };
    const add = (s: PolicySidecars | undefined) => {
      if (!s) return;
      total.connected += s.connected;
      total.inSync += s.inSync;
      total.nacks.push(...s.nacks);
    };
    add(this.distributor.policyStats().get(policy));
    for (const cm of this.reports.list(this.#o.namespace)) {
      if (cm.metadata?.name === this.#reportName()) continue;
      const at = Date.parse(cm.data?.heartbeat ?? '');
      if (!(Date.now() - at < 3 * HEARTBEAT_MS)) continue;
      add((JSON.parse(cm.data?.stats ?? '{}') as Record<string, PolicySidecars>)[policy]);
    }
    return total;
  }

  #reportName(): string { return `triage-sessions-${this.#o.identity}`.toLowerCase().slice(0, 253); }

  /** Publishes this replica's session counts (debounced; forced for heartbeats). */
  #scheduleReport(force = false): void {
    if (this.#reportTimer && !force) return;
    clearTimeout(this.#reportTimer);
    this.#reportTimer = setTimeout(() => {
      this.#reportTimer = undefined;
      // Once per debounce window, not per ACK: each reconcile walks every session.
      if (this.#o.leader.isLeader()) this.#queueAllPolicies();
      const stats = JSON.stringify(Object.fromEntries(this.distributor.policyStats()));
      if (stats === this.#lastReport && !force) return;
      this.#lastReport = stats;
      void this.#o.kube.apply(corePath('configmaps', this.#o.namespace, this.#reportName()), {
        apiVersion: 'v1', kind: 'ConfigMap',
        metadata: { name: this.#reportName(), namespace: this.#o.namespace, labels: { [SESSIONS_LABEL]: 'true' } },
        data: { stats, heartbeat: new Date().toISOString() },
      }, FIELD_MANAGER).catch((err: Error) => this.#o.log.warn({ err: err.message }, 'cannot publish session report'));
    }, force ? 0 : 200);
  }
}

function identityOf(pod: V1Pod): PodIdentity {
  return { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', labels: pod.metadata?.labels ?? {} };
}

function decode(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

