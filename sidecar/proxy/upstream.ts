// Upstream HTTP over undici keep-alive pools. One Agent per connect timeout (a pool option in undici);
// first-byte and idle timeouts are per request (headersTimeout, bodyTimeout).

import { Agent, request, type Dispatcher } from 'undici';

const agents = new Map<number, Agent>();

function agentFor(connectMs: number): Agent {
  let a = agents.get(connectMs);
  if (!a) {
    a = new Agent({ connect: { timeout: connectMs }, keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000 });
    agents.set(connectMs, a);
  }
  return a;
}

export interface Timeouts { connectMs: number; firstByteMs: number; idleMs: number }

export function post(url: string, headers: Record<string, string>, body: string, t: Timeouts, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  return request(url, {
    method: 'POST', headers, body, signal,
    dispatcher: agentFor(t.connectMs), headersTimeout: t.firstByteMs, bodyTimeout: t.idleMs,
  });
}

export async function closeUpstreamPools(): Promise<void> {
  await Promise.all([...agents.values()].map((a) => a.close()));
  agents.clear();
}
