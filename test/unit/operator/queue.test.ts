// The work queue de-duplicates keys, never runs one key twice at once, and retries failures with backoff.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WorkQueue } from '../../../operator/queue.ts';

const tick = (ms = 5) => new Promise((r) => setTimeout(r, ms));

test('a key added many times while queued is processed once', async () => {
  const seen: string[] = [];
  const q = new WorkQueue(async (k) => { seen.push(k); await tick(10); }, { workers: 1 });
  q.add('busy'); // the one worker is now busy, so what follows waits in the queue
  q.add('a'); q.add('a'); q.add('b'); q.add('a');
  await tick(60);
  assert.deepEqual(seen, ['busy', 'a', 'b']);
});

test('a key added while it is being processed runs again afterwards, never concurrently', async () => {
  let running = 0;
  let maxRunning = 0;
  let runs = 0;
  const q = new WorkQueue(async () => {
    running++; runs++; maxRunning = Math.max(maxRunning, running);
    await tick(20);
    running--;
  }, { workers: 4 });
  q.add('k');
  await tick(5);
  q.add('k'); q.add('k');
  await tick(80);
  assert.equal(maxRunning, 1);
  assert.equal(runs, 2);
});

test('failures retry with growing backoff until success', async () => {
  const at: number[] = [];
  const q = new WorkQueue(async () => {
    at.push(Date.now());
    if (at.length < 4) throw new Error('not yet');
  }, { baseMs: 10, maxMs: 1000 });
  q.add('k');
  await tick(200);
  assert.equal(at.length, 4);
  const gaps = at.slice(1).map((t, i) => t - at[i]!);
  assert.ok(gaps[0]! >= 9 && gaps[1]! >= 19 && gaps[2]! >= 39, `gaps ${gaps}`);
  assert.equal(q.depth(), 0);
});
