// `triage gen crds DIR`: writes crds/*.yaml from the contract. The unit tests regenerate in memory and
// fail when the committed files differ.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';
import { crds } from '../api/crd.ts';

export const HEADER = '# Generated from api/ by `make crds`. Do not edit.\n';

export function renderCrds(): Map<string, string> {
  const files = new Map<string, string>();
  for (const crd of crds()) {
    const name = (crd.metadata as { name: string }).name;
    files.set(`${name}.yaml`, HEADER + dump(crd, { lineWidth: -1, noRefs: true }));
  }
  return files;
}

export function genCrds(dir: string): void {
  for (const [file, text] of renderCrds()) writeFileSync(join(dir, file), text);
}
