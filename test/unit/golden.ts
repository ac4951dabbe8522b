// Golden-file assertions. A golden is the reviewed spec of an output, kept as pretty JSON under test/golden/.
// UPDATE_GOLDEN=1 rewrites goldens from the current output instead of comparing — review the diff before
// committing, since a rewritten golden asserts whatever the code printed.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const GOLDEN_ROOT = resolve(import.meta.dirname, '../golden');

/** Reads a JSON fixture (an input, or any golden) by its path under test/golden/. */
export function readFixture<T = unknown>(relPath: string): T {
  return JSON.parse(readFileSync(resolve(GOLDEN_ROOT, relPath), 'utf8')) as T;
}

/**
 * Compares `actual` with the golden at test/golden/<relPath>. `actual` is compared as it would serialise to
 * JSON (undefined fields vanish), since that is what leaves the process.
 */
export function assertGolden(relPath: string, actual: unknown): void {
  const file = resolve(GOLDEN_ROOT, relPath);
  const serialised = JSON.stringify(actual, null, 2) + '\n';
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, serialised);
    return;
  }
  let expected: unknown;
  try {
    expected = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    assert.fail(`golden ${relPath} is missing or not JSON (UPDATE_GOLDEN=1 writes it): ${(err as Error).message}`);
  }
  assert.deepStrictEqual(JSON.parse(serialised), expected, `output differs from golden ${relPath} (UPDATE_GOLDEN=1 rewrites it)`);
}
