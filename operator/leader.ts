// Leader election on a coordination.k8s.io Lease, as client-go's leaderelection does it: acquire when
// the lease is free or expired, renew well inside its duration, and step down when a renewal fails.
// Optimistic concurrency (resourceVersion) makes a race between replicas safe.

import type { Logger } from '../sidecar/log.ts';
import { Kube, KubeError } from './kube/rest.ts';

export interface LeaderOptions { namespace: string; name: string; identity: string; leaseSeconds?: number; renewMs?: number }

export class LeaderElector {
  #leader = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #kube: Kube;
  readonly #o: Required<LeaderOptions>;
  readonly #log: Logger;
  onChange: (leader: boolean) => void = () => {};

  constructor(kube: Kube, o: LeaderOptions, log: Logger) {
    this.#kube = kube;
    this.#o = { leaseSeconds: 15, renewMs: 5_000, ...o };
    this.#log = log;
  }

  isLeader(): boolean { return this.#leader; }

  start(): void {
    const tick = async () => {
      try { await this.#tryAcquireOrRenew(); } catch (err) { this.#set(false, (err as Error).message); }
      this.#timer = setTimeout(tick, this.#leader ? this.#o.renewMs : this.#o.renewMs / 2 + Math.random() * this.#o.renewMs);
    };
    void tick();
  }

  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    if (!this.#leader) return;
    // Release: an expired renewTime lets another replica take over at once.
    const path = `/apis/coordination.k8s.io/v1/namespaces/${this.#o.namespace}/leases/${this.#o.name}`;
    const lease = await this.#kube.find(path).catch(() => undefined);
    if (lease?.spec?.holderIdentity === this.#o.identity) {
      lease.spec.renewTime = '1970-01-01T00:00:00.000000Z';
      lease.spec.leaseDurationSeconds = 1;
      await this.#kube.request('PUT', path, lease).catch(() => undefined);
    }
    this.#set(false, 'stopped');
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const { namespace, name, identity, leaseSeconds } = this.#o;
    const path = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`;
    const now = new Date();
    const micro = now.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z'); // MicroTime
    const lease = await this.#kube.find(path);
    if (!lease) {
      await this.#kube.request('POST', `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`, {
        apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace },
        spec: { holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: micro, renewTime: micro, leaseTransitions: 0 },
      }).catch((err: unknown) => { if (!(err instanceof KubeError && err.status === 409)) throw err; });
      return this.#set((await this.#kube.get(path)).spec?.holderIdentity === identity, 'created lease');
    }
    const spec = lease.spec ?? {};
    const held = spec.holderIdentity === identity;
    const expired = !spec.renewTime || Date.parse(spec.renewTime) + (spec.leaseDurationSeconds ?? leaseSeconds) * 1000 < now.getTime();
    if (!held && !expired) return this.#set(false, `held by ${spec.holderIdentity}`);
    lease.spec = {
      ...spec, holderIdentity: identity, leaseDurationSeconds: leaseSeconds, renewTime: micro,
      ...(held ? {} : { acquireTime: micro, leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
    };
    try {
      await this.#kube.request('PUT', path, lease); // resourceVersion in metadata: a lost race is a 409
      this.#set(true, held ? 'renewed' : 'acquired');
    } catch (err) {
      if (err instanceof KubeError && err.status === 409) return this.#set(false, 'lost the race');
      throw err;
    }
  }

  #set(leader: boolean, why: string): void {
    if (leader === this.#leader) return;
    this.#leader = leader;
    this.#log.info({ leader, why }, leader ? 'became leader' : 'not leader');
    this.onChange(leader);
  }
}
