// A sidecar config's version: a content hash, so the same content always has the same version on every
// replica of the operator and in the sidecar, and a change always has a new one.

import { createHash } from 'node:crypto';
import type { SidecarConfig } from './sidecarConfig.ts';

export function configVersion(cfg: SidecarConfig): string {
  const { version: _ignored, ...content } = cfg;
  return `sha256:${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 16)}`;
}
