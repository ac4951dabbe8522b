// A whole standalone stack for end-to-end tests: mock OpenAI, Anthropic, Gemini and Azure servers on
// loopback, a sidecar started in-process from a real config file, and the official SDK clients.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import Anthropic from '@anthropic-ai/sdk';
import { dump } from 'js-yaml';
import OpenAI from 'openai';
import { createLogger } from '../../sidecar/log.ts';
import { startSidecar, type Sidecar } from '../../sidecar/main.ts';
import { startMockProvider, type MockProvider } from '../mocks/index.ts';

/** Provider keys are generated per run and obviously fake, so a leak test can search for them. */
export const KEYS = {
  openai: `fake-openai-${process.pid}-${Date.now().toString(36)}`,
  anthropic: `fake-anthropic-${process.pid}-${Date.now().toString(36)}`,
  gemini: `fake-gemini-${process.pid}-${Date.now().toString(36)}`,
  azure: `fake-azure-${process.pid}-${Date.now().toString(36)}`,
};

export interface Mocks { openai: MockProvider; anthropic: MockProvider; gemini: MockProvider; azure: MockProvider; openai2: MockProvider }

export interface Stack {
  mocks: Mocks;
  sidecar: Sidecar;
  configPath: string;
  /** Everything the sidecar logged, one JSON line each. */
  logs: string[];
  openai: OpenAI;
  anthropic: Anthropic;
  writeConfig(text: string): void;
  resetMocks(): void;
  close(): Promise<void>;
}

/** The provider keys for the mocks (names: openai, openai2, claude, gemini, azure) and an unreachable one (dead). */
export function providerKeys(m: Mocks): object[] {
  return [
    { name: 'openai', provider: 'openai', baseURL: m.openai.url, apiKey: '${TEST_OPENAI_KEY}' },
    { name: 'openai2', provider: 'openai', baseURL: m.openai2.url, apiKey: '${TEST_OPENAI_KEY}' },
    { name: 'claude', provider: 'anthropic', baseURL: m.anthropic.url, apiKey: '${TEST_ANTHROPIC_KEY}' },
    { name: 'gemini', provider: 'gemini', baseURL: m.gemini.url, apiKey: '${TEST_GEMINI_KEY}' },
    { name: 'azure', provider: 'azure-openai', baseURL: m.azure.url.replace(/\/v1$/, ''), apiKey: '${TEST_AZURE_KEY}', apiVersion: '2024-10-21' },
    // Nothing listens on the discard port: connections are refused at once.
    { name: 'dead', provider: 'openai', baseURL: 'http://127.0.0.1:9/v1', apiKey: '${TEST_OPENAI_KEY}' },
  ];
}

export const env = {
  TEST_OPENAI_KEY: KEYS.openai, TEST_ANTHROPIC_KEY: KEYS.anthropic, TEST_GEMINI_KEY: KEYS.gemini, TEST_AZURE_KEY: KEYS.azure,
};

/** A default policy set: strong (OpenAI) → weak (Anthropic) fallback, plus one target per provider. */
export function defaultPolicies(): object[] {
  return [{
    name: 'default',
    models: [
      { name: 'strong', deployments: [{ providerKey: 'openai', model: 'gpt-4o' }] },
      { name: 'weak', deployments: [{ providerKey: 'claude', model: 'claude-3-5-haiku-latest' }] },
      { name: 'flash', deployments: [{ providerKey: 'gemini', model: 'gemini-2.0-flash' }] },
      { name: 'azure-4o', deployments: [{ providerKey: 'azure', model: 'my-gpt4o-deployment' }] },
      { name: 'embed', deployments: [{ providerKey: 'openai', model: 'text-embedding-3-small' }] },
      { name: 'gemini-embed', deployments: [{ providerKey: 'gemini', model: 'text-embedding-004' }] },
    ],
    router: { type: 'fixed', target: 'strong' },
    fallbacks: [{ from: 'strong', to: ['weak'], when: ['rateLimited', 'serverError', 'timeout', 'connection'] }],
    retries: { attempts: 1, baseDelay: '10ms', maxDelay: '2s' },
    timeouts: { connect: '1s', firstByte: '2s', idle: '1s' },
  }];
}

export async function startStack(opts: { policies?: object[]; maxBodyBytes?: number; config?: (m: Mocks) => object } = {}): Promise<Stack> {
  const [openai, openai2, anthropic, gemini, azure] = await Promise.all([
    startMockProvider({ wire: 'openai', apiKey: KEYS.openai }),
    startMockProvider({ wire: 'openai', apiKey: KEYS.openai, name: 'openai2' }),
    startMockProvider({ wire: 'anthropic', apiKey: KEYS.anthropic }),
    startMockProvider({ wire: 'gemini', apiKey: KEYS.gemini }),
    startMockProvider({ wire: 'openai', apiKey: KEYS.azure, name: 'azure' }),
  ]);
  const mocks: Mocks = { openai: openai!, openai2: openai2!, anthropic: anthropic!, gemini: gemini!, azure: azure! };
  const dir = mkdtempSync(join(tmpdir(), 'triage-test-'));
  const configPath = join(dir, 'triage.yaml');
  const config = opts.config?.(mocks) ?? { providerKeys: providerKeys(mocks), policies: opts.policies ?? defaultPolicies() };
  writeFileSync(configPath, dump(config));
  const logs: string[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { logs.push(...String(chunk).split('\n').filter(Boolean)); cb(); } });
  const sidecar = await startSidecar({
    configPath, listen: '127.0.0.1:0', adminListen: '127.0.0.1:0', env: { ...process.env, ...env },
    logger: createLogger('debug', sink), ...(opts.maxBodyBytes ? { maxBodyBytes: opts.maxBodyBytes } : {}),
  });
  return {
    mocks, sidecar, configPath, logs,
    openai: new OpenAI({ apiKey: 'app-key-not-used', baseURL: `${sidecar.proxyURL}/v1`, maxRetries: 0, timeout: 10_000 }),
    anthropic: new Anthropic({ apiKey: 'app-key-not-used', baseURL: sidecar.proxyURL, maxRetries: 0, timeout: 10_000 }),
    writeConfig: (text) => writeFileSync(configPath, text),
    resetMocks: () => Object.values(mocks).forEach((m) => m.reset()),
    async close() {
      await sidecar.close();
      await Promise.all(Object.values(mocks).map((m) => m.close()));
    },
  };
}

/** Polls until fn returns truthy (tests of asynchronous effects such as a file reload). */
export async function eventually<T>(fn: () => T | Promise<T>, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function metricsText(s: Stack): Promise<string> {
  return (await fetch(`${s.sidecar.adminURL}/metrics`)).text();
}
