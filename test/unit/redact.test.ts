// sidecar/http/redact.ts: credentials never leave the sidecar in error text that upstream echoed back.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';

import { redact } from '../../sidecar/http/redact.ts';

describe('redact: the deployment\'s own secret', () => {
  it('replaces every occurrence of the secret', () => {
    assert.equal(redact('key 0123456789abcdef0123456789abcdef rejected (0123456789abcdef0123456789abcdef)', '0123456789abcdef0123456789abcdef'),
      'key [redacted] rejected ([redacted])');
  });

  it('treats the secret literally, not as a pattern', () => {
    assert.equal(redact('a.b*c+d? and axbxcxd', 'a.b*c+d?'), '[redacted] and axbxcxd');
  });

  it('ignores a secret shorter than 4 characters (or none) — too likely to hit ordinary text', () => {
    assert.equal(redact('abc abc', 'abc'), 'abc abc');
    assert.equal(redact('plain text', ''), 'plain text');
    assert.equal(redact('plain text'), 'plain text');
  });

  it('property: a realistic secret never survives, wherever it sits in the text', () => {
    const secretChar = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-');
    const secret = fc.string({ unit: secretChar, minLength: 4, maxLength: 40 }).filter((s) => !'[redacted]'.includes(s));
    fc.assert(fc.property(secret, fc.array(fc.string({ maxLength: 20 }), { minLength: 1, maxLength: 5 }), (s, parts) => {
      const text = parts.join(s);
      const out = redact(text, s);
      assert.ok(!out.includes(s), `${JSON.stringify(s)} left in ${JSON.stringify(out)}`);
    }), { numRuns: 1000 });
  });
});

describe('redact: key-shaped strings from any provider', () => {
  const cases: [string, string][] = [
    ['Incorrect API key provided: sk-proj-Ab12Cd34Ef56_gh-78. You can find your API key at https://platform.openai.com/account/api-keys.',
      'Incorrect API key provided: [redacted]. You can find your API key at https://platform.openai.com/account/api-keys.'],
    ['Incorrect API key provided: sk-proj-********************************wxyz.', 'Incorrect API key provided: [redacted].'],
    ['invalid x-api-key: sk-ant-api03-AbCdEfGh12345678-xyz_AA', 'invalid x-api-key: [redacted]'],
    ['GET /v1beta/models?key=AIzaSyA1234567890abcdefghijklmnopqrstu failed', 'GET /v1beta/models?key=[redacted] failed'],
    ['{"api_key":"sk-abcdefgh12345"}', '{"api_key":"[redacted]"}'],
    ['two keys: sk-aaaaaaaaaa and sk-bbbbbbbbbb', 'two keys: [redacted] and [redacted]'],
  ];
  for (const [input, expected] of cases) it(JSON.stringify(input.slice(0, 60)), () => assert.equal(redact(input), expected));

  it('leaves ordinary words alone', () => {
    for (const text of ['task-force risk-assessment desk-booking', 'sk-short', 'AIza is a prefix', 'ask-me-anything-please', 'the model gpt-4o-mini']) {
      assert.equal(redact(text), text);
    }
  });

  it('property: OpenAI, Anthropic and Gemini shaped keys never survive, surrounded by any text', () => {
    const body = (chars: string, min: number) => fc.tuple(
      fc.string({ unit: fc.constantFrom(...chars), minLength: min - 1, maxLength: 60 }),
      fc.constantFrom(...'abcXYZ019'),
    ).map(([s, last]) => s + last);
    const word = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';
    const key = fc.oneof(
      body(word, 8).map((b) => `sk-${b}`),
      body(word, 8).map((b) => `sk-proj-${b}`),
      body(word, 8).map((b) => `sk-ant-api03-${b}`),
      body(word, 20).map((b) => `AIza${b}`),
    );
    const sep = fc.constantFrom(' ', ': ', '"', '=', '\n', '(', ', ');
    fc.assert(fc.property(fc.string({ maxLength: 20 }), sep, key, sep, fc.string({ maxLength: 20 }), (before, s1, k, s2, after) => {
      const out = redact(`${before}${s1}${k}${s2}${after}`);
      assert.ok(!out.includes(k), `${k} left in ${JSON.stringify(out)}`);
    }), { numRuns: 1000 });
  });

  it('property: idempotent, and text without a key prefix or the secret is unchanged', () => {
    fc.assert(fc.property(fc.string({ maxLength: 80 }), (t) => {
      assert.equal(redact(redact(t, 'topsecret'), 'topsecret'), redact(t, 'topsecret'));
      if (!t.includes('sk-') && !t.includes('AIza') && !t.includes('topsecret')) assert.equal(redact(t, 'topsecret'), t);
    }), { numRuns: 1000 });
  });
});
