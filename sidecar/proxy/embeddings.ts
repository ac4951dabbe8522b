// POST /v1/embeddings: a model target (not a policy: there is nothing to classify), with the same
// retries, load balancing and fallbacks as chat.

import { badRequest } from '../http/errors.ts';
import type { EmbeddingsRequest } from '../providers/chat.ts';
import { resolveModel } from '../routing/resolve.ts';
import { runAttempts, UpstreamError } from './attempts.ts';
import type { RequestContext } from './context.ts';
import { sendJson } from './respond.ts';
import { callUpstream, readUpstreamJson, toClientError } from './call.ts';

export async function handleEmbeddings(ctx: RequestContext, body: Record<string, unknown>): Promise<void> {
  const req = body as unknown as EmbeddingsRequest;
  const resolved = resolveModel(ctx.config, req.model);
  if (resolved.kind !== 'model') throw badRequest(`Embeddings need a model name, not the policy "${req.model}".`, 'model');
  const policy = resolved.policy;
  const ok = await runAttempts(policy, resolved.model, async (d) => {
    const e = d.adapter.embeddings;
    if (!e) throw new UpstreamError('badRequest', `${d.target.provider} has no embeddings endpoint`, { status: 400 });
    const res = await callUpstream(ctx.signal, d, e.url(d.target), e.toBody(req, d.target), policy.timeouts);
    const { json: parsed } = await readUpstreamJson(res, d);
    return e.fromBody(parsed, d.target);
  }, ctx).catch((err: unknown) => {
    throw toClientError(err);
  });
  ok.release();
  const t = ok.deployment.target;
  ctx.metrics.requests.inc({ policy: policy.name, model: ok.model.name, provider: t.provider, route: 'fixed', status: '200' });
  ctx.metrics.tokens.inc({ policy: policy.name, model: ok.model.name, provider: t.provider, type: 'input' }, ok.value.usage?.prompt_tokens ?? 0);
  sendJson(ctx.res, 200, ok.value, {
    'x-triage-policy': policy.name, 'x-triage-model': ok.model.name, 'x-triage-provider': t.provider,
    'x-triage-upstream-model': t.model, 'x-triage-attempts': String(ok.attempts),
    'x-triage-overhead-ms': Math.max(0, performance.now() - ctx.t0 - ok.upstreamMs - ok.waitedMs).toFixed(3),
  });
}
