// Text → token ids with the router's tokenizer.json (@huggingface/tokenizers, pure JS) and the contract's
// truncation: at most max_length ids, keeping the leading ids and the post-processor's trailing special token(s)
// (BERT: the first 511 ids, then [SEP]). The library does not apply tokenizer.json's truncation, so it is done here.
//
// WordPiece is a pure function of one pre-tokenised word, so its results are memoised per word (words up to 32
// characters, at most 50,000 of them): the library's WordPiece rebuilds substrings for every word and was a third
// of the tokenising time; real prompts repeat their words.
//
// Long texts: for BERT-style tokenizers (BertNormalizer + BertPreTokenizer: every step is local to a
// whitespace-separated word) only a prefix of the text, cut at an ASCII whitespace, is tokenised when that
// prefix alone already yields more than max_length ids; the result is then identical to tokenising the whole
// text and truncating (tested), at a fraction of the cost for very long prompts.

import { readFileSync } from 'node:fs';
import { Tokenizer } from '@huggingface/tokenizers';

interface TokenizerJson {
  normalizer?: { type?: string } | null;
  pre_tokenizer?: { type?: string } | null;
  post_processor?: PostProcessor | null;
  model?: { type?: string; vocab?: Record<string, number> | unknown[] };
  added_tokens?: { id: number }[];
}
type TemplatePiece = { SpecialToken?: { id: string }; Sequence?: { id: string } };
type PostProcessor = { type?: string; single?: TemplatePiece[]; processors?: PostProcessor[]; special_tokens?: Record<string, { ids: number[] }> };

export class RouterTokenizer {
  readonly maxLength: number;
  /** Largest id the tokenizer can produce (+1): the embedding table must cover it. */
  readonly vocabSize: number;
  private readonly tok: Tokenizer;
  /** Special ids the post-processor appends after the text (kept on truncation). */
  private readonly tail: number;
  private readonly prefixCut: boolean;

  constructor(json: TokenizerJson, maxLength: number) {
    if (!Number.isInteger(maxLength) || maxLength < 2) throw new Error(`max_length ${maxLength} must be an integer ≥ 2`);
    this.tok = new Tokenizer(json, {});
    this.maxLength = maxLength;
    this.tail = trailingSpecials(json.post_processor ?? null, this.tok);
    this.prefixCut = json.normalizer?.type === 'BertNormalizer' && json.pre_tokenizer?.type === 'BertPreTokenizer';
    if (json.model?.type === 'WordPiece') memoiseWords(this.tok);
    const vocab = json.model?.vocab;
    let max = 0;
    if (Array.isArray(vocab)) max = vocab.length - 1;
    else if (vocab) for (const v of Object.values(vocab)) if (v > max) max = v;
    for (const t of json.added_tokens ?? []) if (t.id > max) max = t.id;
    this.vocabSize = max + 1;
  }

  static fromFile(path: string, maxLength: number): RouterTokenizer {
    let json: TokenizerJson;
    try {
      json = JSON.parse(readFileSync(path, 'utf8')) as TokenizerJson;
    } catch (err) {
      throw new Error(`tokenizer ${path}: ${(err as Error).message}`);
    }
    try {
      return new RouterTokenizer(json, maxLength);
    } catch (err) {
      throw new Error(`tokenizer ${path}: ${(err as Error).message}`);
    }
  }

  /** Ids with special tokens, truncated to maxLength. */
  encode(text: string): number[] {
    const max = this.maxLength;
    if (this.prefixCut && text.length > max * 6) {
      for (let cut = max * 6; cut < text.length; cut *= 2) {
        const at = nextWhitespace(text, cut);
        if (at < 0) break;
        const ids = this.raw(text.slice(0, at));
        if (ids.length > max) return this.truncate(ids);
      }
    }
    return this.truncate(this.raw(text));
  }

  private raw(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: true }).ids;
  }

  private truncate(ids: number[]): number[] {
    const max = this.maxLength;
    if (ids.length <= max) return ids;
    const tail = Math.min(this.tail, max - 1);
    const out = ids.slice(0, max - tail);
    for (let i = ids.length - tail; i < ids.length; i++) out.push(ids[i]!);
    return out;
  }
}

const MEMO_MAX_WORD = 32;
const MEMO_MAX_ENTRIES = 50_000;

/** Wraps the library's WordPiece model.encode(words) with a per-word memo (exact: each word is encoded alone). */
function memoiseWords(tok: Tokenizer): void {
  const model = (tok as unknown as { model?: { encode?: (words: string[]) => string[] } }).model;
  const encode = model?.encode;
  if (!model || typeof encode !== 'function') return;
  const memo = new Map<string, string[]>();
  model.encode = function (words: string[]): string[] {
    const out: string[] = [];
    for (const w of words) {
      if (w.length > MEMO_MAX_WORD) { for (const t of encode.call(model, [w])) out.push(t); continue; }
      let pieces = memo.get(w);
      if (!pieces) {
        pieces = encode.call(model, [w]);
        if (memo.size >= MEMO_MAX_ENTRIES) memo.clear();
        memo.set(w, pieces);
      }
      for (const t of pieces) out.push(t);
    }
    return out;
  };
}

/** First index ≥ from holding ' ', '\n', '\r' or '\t' (whitespace to every BERT normaliser), or −1 within 1,000 chars. */
function nextWhitespace(text: string, from: number): number {
  const end = Math.min(text.length, from + 1000);
  for (let i = from; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 10 || c === 13 || c === 9) return i;
  }
  return -1;
}

/** How many special tokens the post-processor puts after a single sequence. */
function trailingSpecials(pp: PostProcessor | null, tok: Tokenizer): number {
  if (!pp) return 0;
  switch (pp.type) {
    case 'BertProcessing':
    case 'RobertaProcessing':
      return 1;
    case 'TemplateProcessing': {
      const single = pp.single ?? [];
      const seq = single.findIndex((p) => p.Sequence);
      if (seq < 0) return 0;
      let n = 0;
      for (const p of single.slice(seq + 1)) if (p.SpecialToken) n += pp.special_tokens?.[p.SpecialToken.id]?.ids.length ?? 1;
      return n;
    }
    case 'Sequence': {
      let n = 0;
      for (const p of pp.processors ?? []) n = Math.max(n, trailingSpecials(p, tok));
      return n;
    }
    default: {
      // Unknown: compare an empty text with a one-word text to see what follows the content.
      const empty = tok.encode('', { add_special_tokens: true }).ids;
      const bare = tok.encode('', { add_special_tokens: false }).ids;
      return Math.max(0, empty.length - bare.length - leadingSpecials(tok));
    }
  }
}

function leadingSpecials(tok: Tokenizer): number {
  const withS = tok.encode('a', { add_special_tokens: true }).ids;
  const without = tok.encode('a', { add_special_tokens: false }).ids;
  const first = without[0];
  const at = first === undefined ? 0 : withS.indexOf(first);
  return at < 0 ? 0 : at;
}
