// `make demo`: the standalone sidecar (started as `bin/triage sidecar`, exactly as a user would) against
// built-in mock providers, driven by the official OpenAI and Anthropic SDKs. Prints the route each took.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { dump } from 'js-yaml';
import OpenAI from 'openai';
import { startMockProvider } from '../test/mocks/index.ts';

const ROOT = new URL('../', import.meta.url).pathname;
const PORT = Number(process.env.DEMO_PORT ?? 4000);
const ADMIN = PORT + 1;

async function main(): Promise<void> {
  const [oai, claude, gem] = await Promise.all([
    startMockProvider({ wire: 'openai', apiKey: 'demo-openai-key', record: false }),
    startMockProvider({ wire: 'anthropic', apiKey: 'demo-anthropic-key', record: false }),
    startMockProvider({ wire: 'gemini', apiKey: 'demo-gemini-key', record: false }),
  ]);
  const config = {
    providerKeys: [
      { name: 'openai', provider: 'openai', baseURL: oai!.url, apiKey: '${DEMO_OPENAI_KEY}' },
      { name: 'claude', provider: 'anthropic', baseURL: claude!.url, apiKey: '${DEMO_ANTHROPIC_KEY}' },
      { name: 'gemini', provider: 'gemini', baseURL: gem!.url, apiKey: '${DEMO_GEMINI_KEY}' },
    ],
    policies: [{
      name: 'default',
      models: [
        { name: 'strong', deployments: [{ providerKey: 'openai', model: 'gpt-4o-2024-05-13' }] },
        { name: 'weak', deployments: [{ providerKey: 'claude', model: 'claude-3-haiku-20240307' }, { providerKey: 'gemini', model: 'gemini-1.5-flash-001' }] },
      ],
      // The builtin classifier scores each prompt; the threshold calibrates to send ~40% to strong.
      router: { type: 'classifier', strong: 'strong', weak: 'weak', strongFraction: 0.4 },
      fallbacks: [{ from: 'strong', to: ['weak'], when: ['rateLimited', 'serverError', 'timeout'] }],
      retries: { attempts: 1, baseDelay: '50ms' },
    }],
  };
  const dir = mkdtempSync(join(tmpdir(), 'triage-demo-'));
  const configPath = join(dir, 'triage.yaml');
  writeFileSync(configPath, dump(config));
  console.log(`config: ${configPath}\n`);

  const sidecar = spawn(join(ROOT, 'bin/triage'), ['sidecar', '--config', configPath, '--listen', `127.0.0.1:${PORT}`, '--admin-listen', `127.0.0.1:${ADMIN}`, '--log-level', 'warn'], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEMO_OPENAI_KEY: 'demo-openai-key', DEMO_ANTHROPIC_KEY: 'demo-anthropic-key', DEMO_GEMINI_KEY: 'demo-gemini-key' },
  });
  const stop = async () => {
    sidecar.kill('SIGTERM');
    await Promise.all([oai, claude, gem].map((m) => m!.close()));
  };
  try {
    await waitReady(sidecar, `http://127.0.0.1:${ADMIN}/readyz`);
    const openai = new OpenAI({ apiKey: 'unused-the-sidecar-holds-keys', baseURL: `http://127.0.0.1:${PORT}/v1`, maxRetries: 0 });
    const anthropic = new Anthropic({ apiKey: 'unused', baseURL: `http://127.0.0.1:${PORT}`, maxRetries: 0 });

    const rows: string[][] = [];
    const row = (what: string, h: Headers, answer: string) => rows.push([
      what, h.get('x-triage-route') ?? '', h.get('x-triage-model') ?? '', h.get('x-triage-provider') ?? '',
      h.get('x-triage-upstream-model') ?? '', h.get('x-triage-fallback-from') ? `from ${h.get('x-triage-fallback-from')}` : '',
      `${h.get('x-triage-overhead-ms')} ms`, answer.slice(0, 32),
    ]);

    for (const prompt of ['What is 2+2?', 'Prove that there are infinitely many primes.', 'Say hi', 'Prove, step by step and with full rigour, that every finite integral domain is a field. Then explain where finiteness is used, give a counterexample without it, and generalise the argument to finite rings without zero divisors (Wedderburn).']) {
      const r = await openai.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: prompt }] }).withResponse();
      row(`openai sdk: ${prompt.length > 48 ? `${prompt.slice(0, 45)}...` : prompt}`, r.response.headers, r.data.choices[0]!.message.content ?? '');
      rows.at(-1)![1] += ` (${r.response.headers.get('x-triage-score')} vs ${r.response.headers.get('x-triage-threshold')})`;
    }
    const streamed = await openai.chat.completions.create({ model: 'weak', stream: true, messages: [{ role: 'user', content: 'stream me a sentence' }] }).withResponse();
    let text = '';
    for await (const c of streamed.data) text += c.choices[0]?.delta.content ?? '';
    row('openai sdk, stream → weak', streamed.response.headers, text);

    oai!.enqueue({ kind: 'error', status: 503 }, { kind: 'error', status: 503 });
    const fb = await openai.chat.completions.create({ model: 'strong', messages: [{ role: 'user', content: 'strong is down' }] }).withResponse();
    row('openai sdk → strong (503 twice)', fb.response.headers, fb.data.choices[0]!.message.content ?? '');

    const msg = await anthropic.messages.create({ model: 'strong', max_tokens: 64, messages: [{ role: 'user', content: 'hello from the Anthropic SDK' }] }).withResponse();
    row('anthropic sdk → strong', msg.response.headers, msg.data.content.map((b) => (b.type === 'text' ? b.text : '')).join(''));

    printTable(['request', 'route', 'model', 'provider', 'upstream model', 'fallback', 'overhead', 'answer'], rows);
    const metrics = await (await fetch(`http://127.0.0.1:${ADMIN}/metrics`)).text();
    console.log('\nmetrics (triage_requests_total):');
    for (const line of metrics.split('\n')) if (line.startsWith('triage_requests_total{')) console.log(`  ${line}`);
    console.log(`\nTry it yourself: bin/triage sidecar --config ${configPath} needs the DEMO_*_KEY variables and the mocks;\nsee README.md "Standalone quick start" for a config against real providers.`);
  } finally {
    await stop();
  }
}

async function waitReady(child: ChildProcess, url: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`sidecar exited with ${child.exitCode}`);
    try { if ((await fetch(url)).ok) return; } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('sidecar did not become ready');
}

function printTable(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
