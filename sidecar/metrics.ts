// Prometheus metrics. Labels are bounded by configuration (policy, model, provider key, class): never a
// user id or prompt text. Duration and token names follow OpenTelemetry's GenAI conventions where one fits.

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'triage_process_' });
  const r = [registry];
  const fast = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1];
  const slow = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
  return {
    registry,
    requests: new Counter({
      name: 'triage_requests_total', help: 'Requests answered, by policy, model target, provider, route and HTTP status.',
      labelNames: ['policy', 'model', 'provider', 'route', 'status'] as const, registers: r,
    }),
    operationDuration: new Histogram({
      name: 'gen_ai_client_operation_duration_seconds', help: 'Whole request duration as the client saw it (OTel gen_ai.client.operation.duration).',
      labelNames: ['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'policy', 'stream'] as const, buckets: slow, registers: r,
    }),
    upstreamDuration: new Histogram({
      name: 'triage_upstream_duration_seconds', help: 'One upstream attempt, until the response headers (streams) or body (otherwise).',
      labelNames: ['provider', 'provider_key', 'model', 'outcome'] as const, buckets: slow, registers: r,
    }),
    timeToFirstToken: new Histogram({
      name: 'gen_ai_server_time_to_first_token_seconds', help: 'Time from request to the first streamed token sent to the client.',
      labelNames: ['gen_ai_provider_name', 'gen_ai_request_model', 'policy'] as const, buckets: slow, registers: r,
    }),
    overhead: new Histogram({
      name: 'triage_proxy_overhead_seconds', help: 'Time the sidecar itself spent on a request: total minus upstream time and retry waits.',
      labelNames: ['stream'] as const, buckets: fast, registers: r,
    }),
    tokens: new Counter({
      name: 'triage_tokens_total', help: 'Tokens reported by providers, by type (input, output, cached).',
      labelNames: ['policy', 'model', 'provider', 'type'] as const, registers: r,
    }),
    tokenUsage: new Histogram({
      name: 'gen_ai_client_token_usage', help: 'Tokens per request (OTel gen_ai.client.token.usage).',
      labelNames: ['gen_ai_token_type', 'gen_ai_provider_name', 'gen_ai_request_model'] as const,
      buckets: [16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576], registers: r,
    }),
    upstreamErrors: new Counter({
      name: 'triage_upstream_errors_total', help: 'Failed upstream attempts by error class.',
      labelNames: ['provider', 'provider_key', 'model', 'class'] as const, registers: r,
    }),
    retries: new Counter({
      name: 'triage_retries_total', help: 'Retries by policy, model target and the error class that caused them.',
      labelNames: ['policy', 'model', 'class'] as const, registers: r,
    }),
    fallbacks: new Counter({
      name: 'triage_fallbacks_total', help: 'Fallbacks taken, by policy, from/to model target and error class.',
      labelNames: ['policy', 'from', 'to', 'class'] as const, registers: r,
    }),
    cooldownsEntered: new Counter({
      name: 'triage_deployment_cooldowns_total', help: 'Times a deployment entered cooldown, by cause.',
      labelNames: ['provider_key', 'model', 'class'] as const, registers: r,
    }),
    cooldownActive: new Gauge({
      name: 'triage_deployment_cooldown', help: '1 while a deployment is in cooldown.',
      labelNames: ['provider_key', 'model'] as const, registers: r,
    }),
    inFlight: new Gauge({ name: 'triage_requests_in_flight', help: 'Requests being proxied now.', registers: r }),
    configReloads: new Counter({
      name: 'triage_config_reloads_total', help: 'Config loads by result (applied, rejected, unchanged).',
      labelNames: ['source', 'result'] as const, registers: r,
    }),
    configInfo: new Gauge({ name: 'triage_config_info', help: 'The config version being served (value 1).', labelNames: ['version'] as const, registers: r }),
    routerDecisions: new Counter({
      name: 'triage_router_decisions_total', help: 'Routing decisions by policy and route.',
      labelNames: ['policy', 'route'] as const, registers: r,
    }),
    routerErrors: new Counter({
      name: 'triage_router_errors_total', help: 'Requests routed by onRouterError because the classifier could not score, by kind.',
      labelNames: ['policy', 'kind'] as const, registers: r,
    }),
    routerScore: new Histogram({
      name: 'triage_router_score', help: 'Classifier scores, P(strong model needed).', labelNames: ['policy'] as const, registers: r,
      // The builtin's scores sit in a narrow band: fine buckets there.
      buckets: [0.1, 0.2, 0.3, 0.4, 0.45, 0.5, 0.52, 0.54, 0.56, 0.57, 0.58, 0.59, 0.6, 0.62, 0.65, 0.7, 0.8, 0.9],
    }),
    routerThreshold: new Gauge({
      name: 'triage_router_threshold', help: 'The threshold in force (calibrated from strongFraction, or fixed).',
      labelNames: ['policy'] as const, registers: r,
    }),
    routerDuration: new Histogram({
      name: 'triage_router_classify_duration_seconds', help: 'Classification time as the request saw it (queue, tokenise, infer).',
      labelNames: ['policy'] as const, buckets: fast, registers: r,
    }),
    routerWorkerRestarts: new Counter({ name: 'triage_router_worker_restarts_total', help: 'Router worker restarts.', registers: r }),
    routerBatch: new Histogram({ name: 'triage_router_batch_size', help: 'Prompts per inference batch.', buckets: [1, 2, 4, 8, 16, 32], registers: r }),
    clientAborts: new Counter({ name: 'triage_client_aborts_total', help: 'Requests the client abandoned before the answer ended.', registers: r }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
