// sidecar/router/tokenize.ts: the TS tokenizer reproduces the Python pipeline's ids exactly, with the contract's
// truncation, and the long-text shortcut never changes the result.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Tokenizer } from '@huggingface/tokenizers';
import fc from 'fast-check';
import { RouterTokenizer } from '../../../sidecar/router/tokenize.ts';
import { ARTIFACTS, fixture, golden, manifest, tokenizerJson } from './helpers.ts';

const tok = RouterTokenizer.fromFile(join(ARTIFACTS, 'tokenizer.json'), manifest.tokenizer.max_length);

describe('RouterTokenizer', () => {
  it('gives the golden ids for every golden prompt', () => {
    assert.ok(golden.cases.length >= 20);
    for (const c of golden.cases) assert.deepEqual(tok.encode(c.prompt), c.input_ids, JSON.stringify(c.prompt.slice(0, 40)));
  });

  it('matches the Rust tokenizers library on hard strings (unicode, control chars, long words, truncation)', () => {
    const { cases } = fixture<{ cases: { text: string; ids: number[] }[] }>('tokenizer_cases.json');
    for (const c of cases) assert.deepEqual(tok.encode(c.text), c.ids, JSON.stringify(c.text.slice(0, 40)));
  });

  it('empty text is [CLS][SEP]; truncation keeps the first 511 ids and [SEP]', () => {
    assert.deepEqual(tok.encode(''), [101, 102]);
    const long = tok.encode('word '.repeat(2000));
    assert.equal(long.length, 512);
    assert.equal(long[0], 101);
    assert.equal(long[511], 102);
    assert.equal(long[510], long[509]);
  });

  it('the long-text prefix shortcut equals tokenising everything and truncating (property)', () => {
    const lib = new Tokenizer(JSON.parse(tokenizerJson), {});
    const full = (t: string) => {
      const ids = lib.encode(t).ids;
      return ids.length <= 512 ? ids : [...ids.slice(0, 511), ids[ids.length - 1]!];
    };
    const word = fc.oneof(fc.constantFrom('a', 'the', 'ROUTER', 'naïve', '中文', '😀', 'x'.repeat(120), 'don\'t', '3.14', '\u0301', '[SEP]'),
      fc.string({ minLength: 1, maxLength: 12 }));
    const sep = fc.constantFrom(' ', '\n', '\t', '  ', '\r\n', '', '\u00a0', ',');
    fc.assert(fc.property(fc.array(fc.tuple(word, sep), { minLength: 400, maxLength: 2500 }), (parts) => {
      const text = parts.map(([w, s]) => w + s).join('');
      assert.deepEqual(tok.encode(text), full(text));
    }), { numRuns: 40 });
  });

  it('rejects a broken tokenizer file with its path', () => {
    assert.throws(() => RouterTokenizer.fromFile('/nonexistent/tokenizer.json', 512), /\/nonexistent\/tokenizer\.json/);
  });
});
