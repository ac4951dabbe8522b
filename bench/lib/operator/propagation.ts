// Propagation of RoutingPolicy updates to the config streams: time from the apiserver's answer to the
// update (PATCH response received) until each affected stream has received and ACKed the config that
// carries it. Two shapes: one policy at a time, and every policy at once.

import { updatePolicy, type PolicyRef } from './fixtures.ts';
import type { Fleet } from './fleet.ts';
import type { Api } from './kube.ts';

export interface PropagationRun {
  updates: number;
  /** Streams that should have received an update, summed over updates. */
  expected: number;
  /** Of those, streams that never got it before the deadline. */
  missed: number;
  /** Per stream: ACK time − PATCH response time (ms). Can be slightly negative: the watch event may beat the response. */
  fromResponseMs: number[];
  /** Per stream: ACK time − PATCH request start (ms). */
  fromRequestMs: number[];
  /** PATCH round trips (ms). */
  patchMs: number[];
}

export interface BurstRun extends PropagationRun {
  /** From the first PATCH sent to the last ACK of the round (ms). */
  lastAckMs: number;
  /** From the first PATCH sent to the last PATCH answered (ms). */
  allPatchedMs: number;
}

const key = (p: PolicyRef) => `${p.namespace}/${p.name}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `count` updates, one policy at a time (cycling through `policies`), `gapMs` after each has fully propagated. */
export async function oneAtATime(api: Api, fleet: Fleet, policies: PolicyRef[], streamsOf: Map<string, number[]>, o: { prefix: string; count: number; gapMs: number; timeoutMs: number; budgetMs: number }): Promise<PropagationRun> {
  const run: PropagationRun = { updates: 0, expected: 0, missed: 0, fromResponseMs: [], fromRequestMs: [], patchMs: [] };
  const t0 = performance.now();
  for (let i = 0; i < o.count && performance.now() - t0 < o.budgetMs; i++) {
    const p = policies[i % policies.length]!;
    const marker = `${o.prefix}-${i}`;
    const ids = streamsOf.get(key(p)) ?? [];
    const arrived = fleet.expect(marker, ids, o.timeoutMs);
    const tReq = performance.now();
    await updatePolicy(api, p, marker);
    const tResp = performance.now();
    const missing = await arrived;
    run.updates++;
    run.expected += ids.length;
    run.missed += missing.length;
    run.patchMs.push(tResp - tReq);
    for (const id of ids) {
      const t = fleet.clients[id]!.seen.get(marker);
      if (t === undefined) continue;
      run.fromResponseMs.push(t - tResp);
      run.fromRequestMs.push(t - tReq);
    }
    await sleep(o.gapMs);
  }
  return run;
}

/** Every policy updated at once (all PATCHes in flight together). */
export async function allAtOnce(api: Api, fleet: Fleet, policies: PolicyRef[], streamsOf: Map<string, number[]>, o: { prefix: string; timeoutMs: number }): Promise<BurstRun> {
  const markers = policies.map((_, i) => `${o.prefix}-${i}`);
  const ids = policies.map((p) => streamsOf.get(key(p)) ?? []);
  const arrived = policies.map((_, i) => fleet.expect(markers[i]!, ids[i]!, o.timeoutMs));
  const tStart = performance.now();
  const tResp = await Promise.all(policies.map((p, i) => updatePolicy(api, p, markers[i]!).then(() => performance.now())));
  const allPatchedMs = performance.now() - tStart;
  const missing = (await Promise.all(arrived)).flat();
  const run: BurstRun = { updates: policies.length, expected: 0, missed: missing.length, fromResponseMs: [], fromRequestMs: [], patchMs: tResp.map((t) => t - tStart), lastAckMs: 0, allPatchedMs };
  policies.forEach((_, i) => {
    run.expected += ids[i]!.length;
    for (const id of ids[i]!) {
      const t = fleet.clients[id]!.seen.get(markers[i]!);
      if (t === undefined) continue;
      run.fromResponseMs.push(t - tResp[i]!);
      run.fromRequestMs.push(t - tStart);
      run.lastAckMs = Math.max(run.lastAckMs, t - tStart);
    }
  });
  return run;
}

/**
 * Polls the RoutingPolicies until every one reports its current generation observed, Ready, and `pods`
 * sidecars connected and in sync (the operator's status machinery caught up). Returns ms, or null at the deadline.
 */
export async function statusConverged(api: Api, pods: number, timeoutMs: number): Promise<{ ms: number | null; lagging: number }> {
  const t0 = performance.now();
  let lagging = -1;
  while (performance.now() - t0 < timeoutMs) {
    const list = await api.request<any>('GET', '/apis/triage.dev/v1alpha1/routingpolicies');
    lagging = list.items.filter((p: any) => !(
      p.status?.observedGeneration === p.metadata.generation
      && p.status?.sidecars?.connected === pods && p.status?.sidecars?.inSync === pods
      && p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))).length;
    if (lagging === 0) return { ms: performance.now() - t0, lagging: 0 };
    await sleep(250);
  }
  return { ms: null, lagging };
}
