// The part of autocannon 9's API the benchmark uses (the package ships no types).

declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface AutocannonClient extends EventEmitter {
    rate?: number;
    destroyed: boolean;
    _doRequest(...args: unknown[]): void;
  }

  interface AutocannonOptions {
    url: string;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    connections?: number;
    duration?: number;
    overallRate?: number;
    connectionRate?: number;
    pipelining?: number;
    timeout?: number;
    ignoreCoordinatedOmission?: boolean;
    setupClient?: (client: AutocannonClient) => void;
  }

  interface AutocannonResult {
    duration: number;
    start: Date;
    finish: Date;
    errors: number;
    timeouts: number;
    non2xx: number;
    totalCompletedRequests: number;
    totalRequests: number;
    totalBytes: number;
    statusCodeStats: Record<string, { count: number }>;
    requests: { average: number; mean: number; min: number; max: number; total: number };
    latency: { average: number; p50: number; p99: number; max: number };
  }

  interface AutocannonInstance extends EventEmitter, PromiseLike<AutocannonResult> {
    stop(): void;
  }

  function autocannon(opts: AutocannonOptions): AutocannonInstance;
  export default autocannon;
  export type { AutocannonClient, AutocannonInstance, AutocannonOptions, AutocannonResult };
}
