// A config file (YAML or JSON) → validated, compiled config, or a list of precise errors.

import { readFile } from 'node:fs/promises';
import { load as parseYaml } from 'js-yaml';
import { validateSidecarConfig } from '../../api/validate.ts';
import { compileConfig, type CompiledConfig } from './compile.ts';

export type LoadResult = { ok: true; config: CompiledConfig } | { ok: false; errors: string[] };

/** Replaces ${VAR} in every string value; an unset variable is an error naming the field. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, at = '', errors: string[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
      const v = env[name];
      if (v === undefined) errors.push(`${at}: environment variable ${name} is not set`);
      return v ?? '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${at}[${i}]`, errors));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, at ? `${at}.${k}` : k, errors)]));
  }
  return value;
}

/** Parses and validates config text. Pure apart from reading env. */
export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    return { ok: false, errors: [`(file): not valid YAML: ${(err as Error).message.split('\n')[0]}`] };
  }
  const errors: string[] = [];
  const data = substituteEnv(raw, env, '', errors);
  if (errors.length) return { ok: false, errors };
  return compileSnapshot(data);
}

/** A parsed config object (file or operator push) → validated and compiled. No env substitution. */
export function compileSnapshot(data: unknown): LoadResult {
  const result = validateSidecarConfig(data);
  if (!result.ok) return result;
  return { ok: true, config: compileConfig(result.value) };
}

export async function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadResult> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`${path}: ${(err as Error).message}`] };
  }
  return parseConfigText(text, env);
}
