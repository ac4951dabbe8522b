// Standalone configuration: hot reload, a bad file keeping the last good config, start-up failures from
// the real command line, and the loopback-only proxy listener.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dump, load } from 'js-yaml';
import { startSidecar } from '../../sidecar/main.ts';
import { eventually, metricsText, startStack, type Stack } from '../helpers/stack.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

function run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(join(ROOT, 'bin/triage'), args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('hot reload', () => {
  let s: Stack;
  before(async () => { s = await startStack(); });
  after(async () => { await s.close(); });

  test('an edited file is applied without a restart', async () => {
    const cfg = load(readFileSync(s.configPath, 'utf8')) as any;
    cfg.policies.push({ name: 'cheap', models: [{ name: 'mini', deployments: [{ providerKey: 'openai', model: 'gpt-4o-mini' }] }], router: { type: 'fixed', target: 'mini' } });
    const v0 = s.sidecar.store.current!.version;
    s.writeConfig(dump(cfg));
    await eventually(() => s.sidecar.store.current!.version !== v0);
    const r = await s.openai.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    assert.equal(r.response.headers.get('x-triage-upstream-model'), 'gpt-4o-mini');
    assert.match(await metricsText(s), /triage_config_reloads_total\{source="file",result="applied"\} 2/);
  });

  test('a bad file is rejected with path and reason; the last good config keeps serving', async () => {
    const good = s.sidecar.store.current!.version;
    const cfg = load(readFileSync(s.configPath, 'utf8')) as any;
    cfg.policies[0].router = { type: 'fixed', target: 'no-such-model' };
    s.writeConfig(dump(cfg));
    await eventually(async () => /triage_config_reloads_total\{source="file",result="rejected"\} 1/.test(await metricsText(s)));
    assert.equal(s.sidecar.store.current!.version, good);
    const rejected = s.logs.map((l) => JSON.parse(l)).find((l) => l.msg?.startsWith('config rejected'));
    assert.deepEqual(rejected.errors, ['policies[0].router.target: router.target must name a model in models']);
    const r = await s.openai.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    assert.equal(r.response.headers.get('x-triage-config-version'), good);

    s.writeConfig('policies: [unclosed');
    await eventually(async () => /result="rejected"\} 2/.test(await metricsText(s)));
    assert.equal(s.sidecar.store.current!.version, good);
  });
});

describe('start-up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'triage-cli-'));
  const write = (name: string, text: string) => { const p = join(dir, name); writeFileSync(p, text); return p; };

  test('an invalid config exits non-zero with every error and its path', async () => {
    const path = write('bad.yaml', dump({
      providerKeys: [{ name: 'k', provider: 'azure-openai', apiKey: 'x' }],
      policies: [{ name: 'p', models: [{ name: 'm', deployments: [{ providerKey: 'nope', model: 'x' }] }], router: { type: 'fixed', target: 'm' }, retries: { attempts: 'two' } }],
    }));
    const r = await run(['sidecar', '--config', path, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /policies\[0\]\.retries\.attempts: must be integer/);
  });

  test('cross-field and reference errors are reported the same way', async () => {
    const path = write('refs.yaml', dump({
      providerKeys: [{ name: 'k', provider: 'azure-openai', apiKey: 'x' }],
      policies: [{ name: 'p', models: [{ name: 'm', deployments: [{ providerKey: 'nope', model: 'x' }] }], router: { type: 'fixed', target: 'm' } }],
    }));
    const r = await run(['sidecar', '--config', path, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /providerKeys\[0\]\.baseURL: baseURL is required for azure-openai/);
  });

  test('an unset ${VAR} names the variable and the field', async () => {
    const path = write('env.yaml', dump({
      providerKeys: [{ name: 'k', provider: 'openai', apiKey: '${TRIAGE_TEST_UNSET_VAR}' }],
      policies: [{ name: 'p', models: [{ name: 'm', deployments: [{ providerKey: 'k', model: 'x' }] }], router: { type: 'fixed', target: 'm' } }],
    }));
    const r = await run(['sidecar', '--config', path, '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /providerKeys\[0\]\.apiKey: environment variable TRIAGE_TEST_UNSET_VAR is not set/);
  });

  test('a missing file and a missing flag are errors', async () => {
    assert.equal((await run(['sidecar', '--config', join(dir, 'absent.yaml')])).code, 1);
    assert.equal((await run(['sidecar'])).code, 2);
  });

  test('the proxy refuses to listen beyond loopback', async () => {
    const path = write('ok.yaml', dump({
      providerKeys: [{ name: 'k', provider: 'openai', apiKey: 'x' }],
      policies: [{ name: 'p', models: [{ name: 'm', deployments: [{ providerKey: 'k', model: 'x' }] }], router: { type: 'fixed', target: 'm' } }],
    }));
    await assert.rejects(startSidecar({ configPath: path, listen: '0.0.0.0:0', adminListen: '127.0.0.1:0' }), /loopback/);
    const r = await run(['sidecar', '--config', path, '--listen', '0.0.0.0:4999', '--admin-listen', '127.0.0.1:0']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /loopback/);
  });
});
