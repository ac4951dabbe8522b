// Structured logs (pino). Redaction is a second line of defence: code never passes a key to a logger.

import { pino, type DestinationStream, type Logger } from 'pino';

export function createLogger(level = process.env.TRIAGE_LOG_LEVEL ?? 'info', destination?: DestinationStream, component = 'sidecar'): Logger {
  const options = {
    level,
    base: { component },
    redact: { paths: ['apiKey', '*.apiKey', '*.*.apiKey', 'headers.authorization', 'headers["x-api-key"]', 'headers["api-key"]', 'headers["x-goog-api-key"]'], censor: '[redacted]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

export type { Logger };
