// What every handler gets: the config snapshot the request started with (a reload mid-request does not
// change it), process-wide state, and the request's abort signal.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledConfig } from '../config/compile.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { HealthRegistry } from '../resilience/health.ts';

export interface Shared {
  metrics: Metrics;
  health: HealthRegistry;
  log: Logger;
  maxBodyBytes: number;
  /** Scores a prompt for the classifier router; absent until a classifier is loaded. */
  classify?: (policy: string, text: string) => Promise<{ score: number } | { error: string }>;
}

export interface RequestContext extends Shared {
  config: CompiledConfig;
  req: IncomingMessage;
  res: ServerResponse;
  signal: AbortSignal;
  /** performance.now() when the request arrived. */
  t0: number;
}
