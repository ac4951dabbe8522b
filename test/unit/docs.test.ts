// docs/configuration.md is generated from the contract; this fails when it is stale.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderConfigReference } from '../../cli/genDocs.ts';

test('docs/configuration.md matches the contract (run `make crds` to regenerate)', () => {
  const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigReference());
});

test('the reference documents every cross-field rule and default', () => {
  const doc = renderConfigReference();
  assert.match(doc, /set exactly one of threshold or strongFraction/);
  assert.match(doc, /baseURL is required for azure-openai/);
  assert.match(doc, /\| `retries.attempts` \| integer \| `2` \|/);
});
