// What the classifier reads from a request, and the RouteLLM-style overrides.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { routerInput } from '../../sidecar/proxy/chat.ts';
import { applyOverride, parseRouterModel, parseRouterOverride } from '../../sidecar/routing/override.ts';
import type { ChatRequest } from '../../sidecar/providers/chat.ts';

const req = (messages: ChatRequest['messages']): ChatRequest => ({ model: 'auto', messages });

test('lastUser: the last user turn, text parts joined by newlines, images ignored', () => {
  const r = req([
    { role: 'system', content: 'sys' },
    { role: 'user', content: 'first' },
    { role: 'assistant', content: 'reply' },
    { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'image_url', image_url: { url: 'data:x' } }, { type: 'text', text: 'b' }] },
  ]);
  assert.equal(routerInput(r, 'lastUser'), 'a\nb');
  assert.equal(routerInput(req([{ role: 'system', content: 'only system' }]), 'lastUser'), '');
});

test('conversation: every turn, keeping the end when it is long', () => {
  assert.equal(routerInput(req([{ role: 'user', content: 'x' }, { role: 'assistant', content: 'y' }]), 'conversation'), 'x\ny');
  const long = routerInput(req([{ role: 'user', content: 'a'.repeat(10_000) }, { role: 'user', content: 'END' }]), 'conversation');
  assert.equal(long.length, 4096);
  assert.ok(long.endsWith('\nEND'));
});

test('overrides: RouteLLM model names and the header form', () => {
  assert.deepEqual(parseRouterModel('router-mf-0.11593'), { type: 'classifier', threshold: 0.11593 });
  assert.deepEqual(parseRouterModel('router-random-0.5'), { type: 'random', threshold: 0.5 });
  assert.deepEqual(parseRouterOverride('classifier-1'), { type: 'classifier', threshold: 1 });
  for (const bad of ['router-mf-1.5', 'router-sw-0.3', 'router-mf-', 'gpt-4o', 'router-mf-0.3x']) assert.equal(parseRouterModel(bad), undefined, bad);
  const r = applyOverride({ type: 'classifier', strong: 's', weak: 'w', strongFraction: 0.2, input: 'lastUser', onRouterError: 'strong' }, { type: 'random', threshold: 0.9 });
  assert.deepEqual(r, { type: 'random', strong: 's', weak: 'w', threshold: 0.9, input: 'lastUser', onRouterError: 'strong' });
  assert.equal(applyOverride({ type: 'fixed', target: 't', input: 'lastUser', onRouterError: 'strong' }, { type: 'classifier', threshold: 0.5 }), undefined);
});
