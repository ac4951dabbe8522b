// LiteLLM's proxy as the comparison point: installed (pinned) into .tools/litellm-venv, configured against
// the same mock upstreams as the sidecar, one worker, no database, no telemetry, log level WARNING.
//
// Version: 1.106.12 is the newest litellm[proxy] whose `proxy` extra resolves from PyPI here; newer ones
// pin litellm-proxy / litellm-proxy-extras versions that are not published.

import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnChild, waitForHttp, type Child } from './lib/processes.ts';

export const LITELLM_VERSION = '1.106.12';

export interface LitellmInstall {
  venv: string;
  version: string;
  /** True when this call installed it (it took a while). */
  installed: boolean;
}

function installedVersion(python: string): string | undefined {
  if (!existsSync(python)) return undefined;
  try {
    return execFileSync(python, ['-c', "import importlib.metadata as m; print(m.version('litellm'))"], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Creates the venv and installs litellm[proxy]==LITELLM_VERSION unless that exact version is there. */
export function ensureLitellm(root: string, log: (s: string) => void): LitellmInstall {
  const venv = join(root, '.tools', 'litellm-venv');
  const python = join(venv, 'bin', 'python');
  const have = installedVersion(python);
  if (have === LITELLM_VERSION && existsSync(join(venv, 'bin', 'litellm'))) return { venv, version: have, installed: false };
  log(`installing litellm[proxy]==${LITELLM_VERSION} into ${venv} (a few minutes, once)`);
  if (!existsSync(python)) execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(python, ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', `litellm[proxy]==${LITELLM_VERSION}`], { stdio: 'inherit' });
  const version = installedVersion(python);
  if (version !== LITELLM_VERSION) throw new Error(`litellm install failed: found ${version ?? 'nothing'}`);
  return { venv, version, installed: true };
}

/**
 * config.yaml: model "gpt-4o" → the instant mock, model "slow" → the slow-streaming mock. No master key
 * (like Triage's loopback listener), no database, no callbacks, no retries; spend logs and the remote model
 * cost map fetch are off (there is no network here anyway).
 */
export function writeLitellmConfig(dir: string, fastURL: string, slowURL: string, apiKey: string): string {
  const path = join(dir, 'litellm.yaml');
  writeFileSync(
    path,
    [
      'model_list:',
      '  - model_name: gpt-4o',
      '    litellm_params:',
      '      model: openai/gpt-4o',
      `      api_base: ${fastURL}`,
      `      api_key: ${apiKey}`,
      '  - model_name: slow',
      '    litellm_params:',
      '      model: openai/gpt-4o',
      `      api_base: ${slowURL}`,
      `      api_key: ${apiKey}`,
      'litellm_settings:',
      '  set_verbose: false',
      '  num_retries: 0',
      '  request_timeout: 120',
      'general_settings:',
      '  disable_spend_logs: true',
      // Triage's loopback listener authenticates nobody; LiteLLM (which refuses to start without a master
      // key since 1.10x) is run the same way, which also spares it the per-request key check.
      '  dangerously_permit_weak_or_unset_master_key: true',
      '',
    ].join('\n'),
  );
  return path;
}

export async function startLitellm(venv: string, configPath: string, port: number, logFile: string): Promise<{ child: Child; url: string; startupMs: number }> {
  const env: NodeJS.ProcessEnv = { ...process.env, LITELLM_LOG: 'WARNING', LITELLM_LOCAL_MODEL_COST_MAP: 'True', PYTHONUNBUFFERED: '1', NO_DOCS: 'True' };
  delete env.DATABASE_URL;
  delete env.LITELLM_MASTER_KEY;
  const child = spawnChild('litellm', join(venv, 'bin', 'litellm'), ['--config', configPath, '--host', '127.0.0.1', '--port', String(port), '--num_workers', '1'], {
    env,
    logFile,
  });
  const url = `http://127.0.0.1:${port}`;
  const startupMs = await waitForHttp(`${url}/health/liveliness`, child, 180_000);
  return { child, url, startupMs };
}
