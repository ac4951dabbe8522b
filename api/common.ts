// Schema building blocks shared by the CRDs and the sidecar config.
// Objects are closed (additionalProperties: false) so a typo in a config file is an error with a path;
// the CRD generator drops that keyword because Kubernetes prunes unknown fields instead.

import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';

/** A string enum that renders as `{type: string, enum: [...]}`, which structural schemas require. */
export function StringEnum<const T extends readonly string[]>(
  values: T,
  opts: { description?: string; default?: T[number] } = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });
}

/** A string → string map (labels, headers). */
export function StringMap(opts: { description?: string; maxProperties?: number } = {}): TUnsafe<Record<string, string>> {
  return Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string', maxLength: 4096 }, ...opts });
}

export const Name = (description: string) =>
  Type.String({ description, minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$' });

export const DURATION_PATTERN = '^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$';
export const Duration = (description: string, def?: string) =>
  Type.String({ description, pattern: DURATION_PATTERN, maxLength: 32, ...(def ? { default: def } : {}) });

export const PROVIDER_TYPES = ['openai', 'azure-openai', 'anthropic', 'gemini', 'openai-compatible'] as const;
export type ProviderTypeName = (typeof PROVIDER_TYPES)[number];

/** Upstream failure classes; fallbacks and retries act per class. */
export const ERROR_CLASSES = [
  'rateLimited', 'serverError', 'timeout', 'connection', 'contextWindowExceeded', 'contentPolicy', 'auth', 'badRequest',
] as const;
export type ErrorClass = (typeof ERROR_CLASSES)[number];

/** Objects in this contract are closed; see the file comment. */
export function Obj<P extends Record<string, TSchema>>(props: P, opts: Record<string, unknown> = {}) {
  return Type.Object(props, { additionalProperties: false, ...opts });
}

export type { Static };
