// What every handler gets: the config snapshot the request started with (a reload mid-request does not
// change it), process-wide state, and the request's abort signal.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CompiledConfig } from '../config/compile.ts';
import type { Logger } from '../log.ts';
import type { Metrics } from '../metrics.ts';
import type { HealthRegistry } from '../resilience/health.ts';
import type { RouterRegistry } from '../router/runtime.ts';

export interface Shared {
  metrics: Metrics;
  health: HealthRegistry;
  log: Logger;
  maxBodyBytes: number;
  /** Classifier routers by `router.model`, loaded when a config names them. */
  routers: RouterRegistry;
}

export interface RequestContext extends Shared {
  config: CompiledConfig;
  req: IncomingMessage;
  res: ServerResponse;
  signal: AbortSignal;
  /** performance.now() when the request arrived. */
  t0: number;
}
