// Chat completions and Anthropic messages: resolve → decide → attempts (translate per attempt) → answer.
// Fallback and retry happen only before the first byte reaches the client; a stream that fails later is
// ended with a well-formed error event in the ingress's wire.

import type { Dispatcher } from 'undici';
import type { CompiledDeployment, CompiledPolicy } from '../config/compile.ts';
import { CLASS_RESPONSE, badRequest } from '../http/errors.ts';
import { redact } from '../http/redact.ts';
import { SseParser } from '../http/sse.ts';
import { openAIStreamEncoder } from '../ingress/openai.ts';
import type { IngressCodec } from '../ingress/types.ts';
import type { ChatMessage, ChatRequest, SseEvent, Usage } from '../providers/chat.ts';
import { classifyNetworkError } from '../resilience/errorClass.ts';
import { callUpstream, readUpstreamJson, toClientError } from './call.ts';
import { decide, thresholdOf, type Decision } from '../routing/decide.ts';
import { applyOverride, parseRouterModel, parseRouterOverride } from '../routing/override.ts';
import type { ScoreResult } from '../router/pool.ts';
import type { Router } from '../../api/routingPolicy.ts';
import { resolveModel } from '../routing/resolve.ts';
import { runAttempts, UpstreamError, type Success } from './attempts.ts';
import type { RequestContext } from './context.ts';
import { nativeUsage, passthroughBody } from './passthrough.ts';
import { sendJson } from './respond.ts';
import { anthropicPassthroughPipe, openAIPassthroughPipe, translatePipe, type StreamPipe } from './streamPipe.ts';

type Answer =
  | { kind: 'json'; text: string; usage: Usage | undefined }
  | { kind: 'stream'; first: string; events: AsyncIterator<SseEvent>; pipe: StreamPipe; ended: boolean };

export async function handleChat(ctx: RequestContext, codec: IngressCodec, body: Record<string, unknown>): Promise<void> {
  let request: ChatRequest;
  try {
    request = codec.toCanonical(body);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
  const byName = parseRouterModel(request.model);
  const resolved = byName ? { kind: 'policy' as const, policy: ctx.config.defaultPolicy } : resolveModel(ctx.config, request.model);
  const policy = resolved.policy;
  const override = byName ?? parseRouterOverride(headerOf(ctx, 'x-triage-router'));
  let router = policy.router;
  if (override && resolved.kind === 'policy') {
    const r = applyOverride(router, override);
    if (!r) throw badRequest(`Policy "${policy.name}" has a fixed router: there is no strong/weak pair to override.`, 'model');
    router = r;
  }
  const decision = resolved.kind === 'model'
    ? { route: 'fixed' as const, model: resolved.model }
    : await routeByPolicy(ctx, policy, router, request);
  const stream = request.stream === true;
  const clientWantsUsage = request.stream_options?.include_usage === true;

  const attempt = async (d: CompiledDeployment): Promise<Answer> => {
    const same = d.adapter.wire === codec.wire;
    let upstreamBody: Record<string, unknown>;
    try {
      upstreamBody = same ? passthroughBody(codec.wire, body, d.target) : d.adapter.toChatBody(request, d.target);
    } catch (err) {
      throw new UpstreamError('badRequest', `${d.target.provider} cannot take this request: ${(err as Error).message}`, { status: 400 });
    }
    const res = await callUpstream(ctx.signal, d, d.adapter.chatURL(d.target, stream), upstreamBody, policy.timeouts);
    if (!stream) {
      const { text, json: native } = await readUpstreamJson(res, d);
      if (same) return { kind: 'json', text, usage: nativeUsage(codec.wire, native) };
      const canonical = d.adapter.fromChatBody(native, d.target);
      return { kind: 'json', text: JSON.stringify(codec.fromCanonical(canonical)), usage: canonical.usage };
    }
    const encoder = codec.wire === 'openai' ? openAIStreamEncoder({ includeUsage: clientWantsUsage }) : codec.streamEncoder();
    const pipe = !same ? translatePipe(d.adapter.streamDecoder(d.target), encoder)
      : codec.wire === 'openai' ? openAIPassthroughPipe(encoder, clientWantsUsage) : anthropicPassthroughPipe(encoder);
    return prime(res, pipe, d);
  };

  const ok = await runAttempts(policy, decision.model, attempt, ctx).catch((err: unknown) => {
    throw toClientError(err);
  });
  try {
    await deliver(ctx, policy, decision, ok, stream);
  } finally {
    ok.release();
  }
}

async function routeByPolicy(ctx: RequestContext, policy: CompiledPolicy, router: Router, req: ChatRequest): Promise<Decision> {
  if (router.type !== 'classifier') {
    const d = decide(router, undefined);
    ctx.metrics.routerDecisions.inc({ policy: policy.name, route: d.route });
    return d;
  }
  const ids = policy.routerIds!;
  const rt = ctx.routers.peek(router.model);
  const t0 = performance.now();
  const score: ScoreResult = rt
    ? await rt.score(routerInput(req, router.input), ids.strong, ids.weak)
    : { error: 'the classifier is not loaded', kind: 'unavailable' };
  ctx.metrics.routerDuration.observe({ policy: policy.name }, (performance.now() - t0) / 1000);
  let threshold = router.threshold;
  if (threshold === undefined) {
    threshold = rt ? rt.threshold(policy.name, ids.strong, ids.weak, router.strongFraction!) : thresholdOf(router);
  }
  ctx.metrics.routerThreshold.set({ policy: policy.name }, threshold);
  const d = decide(router, score, Math.random, threshold);
  if ('score' in score) {
    // Every scored request feeds the pod's own calibration, whatever was decided.
    rt!.observe(policy.name, ids.strong, ids.weak, score.score);
    ctx.metrics.routerScore.observe({ policy: policy.name }, score.score);
  } else {
    ctx.metrics.routerErrors.inc({ policy: policy.name, kind: score.kind });
  }
  ctx.metrics.routerDecisions.inc({ policy: policy.name, route: d.route });
  if (rt) d.routerVersion = rt.version;
  ctx.log.debug({ policy: policy.name, route: d.route, score: d.score, threshold: d.threshold, error: d.routerError }, 'router decision');
  return d;
}

function headerOf(ctx: RequestContext, name: string): string | undefined {
  const v = ctx.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Characters of a conversation the classifier reads: its tail, since the tokenizer keeps the first 512 tokens. */
const CONVERSATION_TAIL = 4096;

/** The text the classifier reads: the last user turn (text parts joined by newlines, per the router
 * contract), or the end of the whole conversation. */
export function routerInput(req: ChatRequest, input: 'lastUser' | 'conversation'): string {
  const text = (m: ChatMessage) => typeof m.content === 'string' ? m.content
    : (m.content ?? []).filter((p) => p.type === 'text').map((p) => (p as { text: string }).text).join('\n');
  if (input === 'conversation') return req.messages.map(text).join('\n').slice(-CONVERSATION_TAIL);
  for (let i = req.messages.length - 1; i >= 0; i--) if (req.messages[i]!.role === 'user') return text(req.messages[i]!);
  return '';
}

async function* sseEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const parser = new SseParser();
  for await (const bytes of body) yield* parser.push(bytes);
  yield* parser.end();
}

/** Reads upstream until the pipe yields its first frame, so that any failure so far can still retry. */
async function prime(res: Dispatcher.ResponseData, pipe: StreamPipe, d: CompiledDeployment): Promise<Answer> {
  const events = sseEvents(res.body);
  let first = '';
  try {
    while (first === '') {
      const next = await events.next();
      if (next.done) {
        if (!pipe.done()) throw new UpstreamError('connection', `${d.target.provider} (${d.target.model}) ended the stream before any content`);
        return { kind: 'stream', first: pipe.finish(), events, pipe, ended: true };
      }
      first = pipe.push(next.value);
    }
  } catch (err) {
    res.body.destroy();
    throw streamFailure(err, d);
  }
  return { kind: 'stream', first, events, pipe, ended: false };
}

function streamFailure(err: unknown, d: CompiledDeployment): UpstreamError {
  if (err instanceof UpstreamError) return err;
  const who = `${d.target.provider} (${d.target.model})`;
  if (err instanceof SyntaxError) return new UpstreamError('serverError', `${who} sent a malformed stream event`);
  const providerType = (err as { providerErrorType?: string }).providerErrorType;
  if (providerType) {
    const cls = providerType === 'rate_limit_error' ? 'rateLimited' : providerType === 'overloaded_error' || providerType === 'api_error' ? 'serverError' : 'badRequest';
    return new UpstreamError(cls, `${who} stream error: ${redact((err as Error).message, d.target.apiKey)}`);
  }
  if ((err as { providerError?: unknown }).providerError) return new UpstreamError('serverError', `${who} stream error: ${redact((err as Error).message, d.target.apiKey)}`);
  return new UpstreamError(classifyNetworkError(err), `${who} stream interrupted: ${redact((err as Error).message, d.target.apiKey)}`);
}

function triageHeaders(ctx: RequestContext, policy: CompiledPolicy, decision: Decision, ok: Success<Answer>): Record<string, string> {
  const overheadMs = performance.now() - ctx.t0 - ok.upstreamMs - ok.waitedMs;
  const h: Record<string, string> = {
    'x-triage-policy': policy.name,
    'x-triage-route': decision.route,
    'x-triage-model': ok.model.name,
    'x-triage-provider': ok.deployment.target.provider,
    'x-triage-upstream-model': ok.deployment.target.model,
    'x-triage-attempts': String(ok.attempts),
    'x-triage-config-version': ctx.config.version,
    'x-triage-overhead-ms': Math.max(0, overheadMs).toFixed(3),
  };
  if (ok.fallbackFrom) h['x-triage-fallback-from'] = ok.fallbackFrom;
  // Six digits: the builtin's scores sit in a narrow band.
  if (decision.score !== undefined) h['x-triage-score'] = decision.score.toFixed(6);
  if (decision.threshold !== undefined) h['x-triage-threshold'] = decision.threshold.toFixed(6);
  if (decision.routerError) h['x-triage-router-error'] = decision.routerError;
  if (decision.routerVersion) h['x-triage-router-version'] = decision.routerVersion;
  return h;
}

async function deliver(ctx: RequestContext, policy: CompiledPolicy, decision: Decision, ok: Success<Answer>, stream: boolean): Promise<void> {
  const answer = ok.value;
  const headers = triageHeaders(ctx, policy, decision, ok);
  ctx.metrics.overhead.observe({ stream: String(stream) }, Number(headers['x-triage-overhead-ms']) / 1000);
  const provider = ok.deployment.target.provider;
  let status = 200;
  let usage: Usage | undefined;
  if (answer.kind === 'json') {
    usage = answer.usage;
    sendJson(ctx.res, 200, answer.text, headers);
  } else {
    ctx.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
    ctx.res.write(answer.first);
    ctx.metrics.timeToFirstToken.observe({ gen_ai_provider_name: provider, gen_ai_request_model: ok.deployment.target.model, policy: policy.name }, (performance.now() - ctx.t0) / 1000);
    status = await pump(ctx, answer, ok.deployment);
    usage = answer.pipe.usage();
  }
  recordOutcome(ctx, policy, decision, ok, status, usage, stream);
}

/** Streams the rest; returns the status to record (200, or 502 when the stream broke after the start). */
async function pump(ctx: RequestContext, a: Extract<Answer, { kind: 'stream' }>, d: CompiledDeployment): Promise<number> {
  const res = ctx.res;
  if (a.ended) { res.end(); return 200; }
  try {
    for (;;) {
      const next = await a.events.next();
      if (next.done) break;
      const out = a.pipe.push(next.value);
      if (out && !res.write(out)) await waitDrain(ctx);
    }
    if (!a.pipe.done()) throw new UpstreamError('connection', `${d.target.provider} (${d.target.model}) ended the stream early`);
    res.end(a.pipe.finish());
    return 200;
  } catch (err) {
    if (ctx.signal.aborted) return 499;
    const e = streamFailure(err, d);
    ctx.log.warn({ provider: d.target.provider, model: d.target.model, class: e.errorClass }, 'stream failed after first byte');
    res.end(a.pipe.fail(CLASS_RESPONSE[e.errorClass].type, e.message));
    return 502;
  } finally {
    await a.events.return?.(undefined);
  }
}

function waitDrain(ctx: RequestContext): Promise<void> {
  return new Promise((resolve) => {
    const done = () => { ctx.res.off('drain', done); ctx.res.off('close', done); resolve(); };
    ctx.res.once('drain', done);
    ctx.res.once('close', done);
  });
}

function recordOutcome(ctx: RequestContext, policy: CompiledPolicy, decision: Decision, ok: Success<Answer>, status: number, usage: Usage | undefined, stream: boolean): void {
  const m = ctx.metrics;
  const t = ok.deployment.target;
  m.requests.inc({ policy: policy.name, model: ok.model.name, provider: t.provider, route: decision.route, status: String(status) });
  m.operationDuration.observe({ gen_ai_operation_name: 'chat', gen_ai_provider_name: t.provider, gen_ai_request_model: t.model, policy: policy.name, stream: String(stream) }, (performance.now() - ctx.t0) / 1000);
  if (usage) {
    const labels = { policy: policy.name, model: ok.model.name, provider: t.provider };
    m.tokens.inc({ ...labels, type: 'input' }, usage.prompt_tokens);
    m.tokens.inc({ ...labels, type: 'output' }, usage.completion_tokens);
    const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
    if (cached) m.tokens.inc({ ...labels, type: 'cached' }, cached);
    m.tokenUsage.observe({ gen_ai_token_type: 'input', gen_ai_provider_name: t.provider, gen_ai_request_model: t.model }, usage.prompt_tokens);
    m.tokenUsage.observe({ gen_ai_token_type: 'output', gen_ai_provider_name: t.provider, gen_ai_request_model: t.model }, usage.completion_tokens);
  }
  ctx.log.debug({ policy: policy.name, route: decision.route, model: ok.model.name, provider: t.provider, status, attempts: ok.attempts, score: decision.score }, 'routed');
}
