/**
 * Tokenizers as `tokenizer.json` defines them, for every text model: byte-level BPE with regex
 * `Split` pre-tokenizers (GPT-2, Llama 3, Qwen2), SentencePiece-style BPE with `Metaspace` and
 * `byte_fallback` (Llama 2, TinyLlama), normalizers, added and special tokens, and
 * `tokenizer_config.json` (bos / eos, `add_bos_token`, `chat_template`).
 *
 * Encoding and decoding are Hugging Face's own JavaScript implementation, `@huggingface/tokenizers`
 * (Apache-2.0, no dependencies, ≈ 37 kB minified; bundled into the worker chunk). What webinfer adds:
 * - bounded work: a text that cannot fit the context is refused before it is tokenized, from its
 *   length and the longest token (a 1 MB prompt fails in milliseconds, not seconds);
 * - each token's raw bytes, for streaming (`TextStream` keeps UTF-8 characters whole across tokens);
 * - special tokens (bos, eos, chat markers) are never streamed as text.
 */
import { Tokenizer } from '@huggingface/tokenizers';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { ManifestError } from '../../src/shared/errors/manifest.js';

/** `tokenizer_config.json`, the fields webinfer reads. */
export interface TokenizerConfig {
  readonly bos_token?: string | { readonly content?: string } | null;
  readonly eos_token?: string | { readonly content?: string } | null;
  readonly add_bos_token?: boolean;
  readonly chat_template?: string | ReadonlyArray<{ readonly name: string; readonly template: string }> | null;
}

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number> | unknown[]; byte_fallback?: boolean };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  decoder?: { type?: string; decoders?: Array<{ type?: string; pattern?: { String?: string }; content?: string }> } | null;
  pre_tokenizer?: { type?: string } | null;
}

/** GPT-2's map from the 256 byte values to printable characters (byte-level BPE), and back. */
function byteLevelChars(): Map<string, number> {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  return new Map(bs.map((b, i) => [String.fromCodePoint(cs[i] as number), b]));
}

const contentOf = (t: TokenizerConfig['bos_token']): string | undefined => (typeof t === 'string' ? t : (t?.content ?? undefined));

/**
 * A text model's tokenizer.
 *
 * @example
 * const tok = TextTokenizer.fromFiles(tokenizerJsonText, tokenizerConfigText);
 * tok.encode('Hello 🎉');              // [15496, 12520, 236, 231]
 * tok.decode([15496, 12520, 236, 231]); // 'Hello 🎉'
 */
export class TextTokenizer {
  readonly #tok: Tokenizer;
  readonly #json: TokenizerJson;
  /** Token string of each id (vocabulary and added tokens). */
  readonly #idToToken: string[] = [];
  readonly #special = new Set<number>();
  readonly #bytes: (Uint8Array | undefined)[] = [];
  readonly #mode: 'byte-level' | 'sentencepiece' | 'text';
  readonly #byteChars = byteLevelChars();
  readonly #encoder = new TextEncoder();
  /** Bytes of the longest token: a text of n bytes has at least n / this many tokens. */
  readonly maxTokenBytes: number;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  readonly chatTemplate: string | undefined;

  private constructor(json: TokenizerJson, config: TokenizerConfig, where: string) {
    this.#json = json;
    if (!json.model || typeof json.model !== 'object') throw new ManifestError(`${where}: model is missing`, { url: where, issues: ['model'] });
    try {
      this.#tok = new Tokenizer(json, config);
    } catch (e) {
      throw new ManifestError(`${where}: ${e instanceof Error ? e.message : String(e)}`, { url: where, issues: ['tokenizer'] }, { cause: e });
    }
    for (const [t, id] of this.#tok.get_vocab(true)) this.#idToToken[id] = t;
    for (const t of json.added_tokens ?? []) if (t.special) this.#special.add(t.id);
    const decoders = [json.decoder?.type, ...(json.decoder?.decoders ?? []).map((d) => d.type)];
    this.#mode = decoders.includes('ByteLevel') ? 'byte-level' : decoders.includes('ByteFallback') || decoders.includes('Replace') || json.pre_tokenizer?.type === 'Metaspace' ? 'sentencepiece' : 'text';
    let longest = 1;
    for (const t of this.#idToToken) if (t !== undefined) longest = Math.max(longest, this.#encoder.encode(t).byteLength);
    this.maxTokenBytes = longest;
    this.bosToken = contentOf(config.bos_token);
    this.eosToken = contentOf(config.eos_token);
    const tpl = config.chat_template;
    this.chatTemplate = typeof tpl === 'string' ? tpl : Array.isArray(tpl) ? tpl.find((t) => t.name === 'default')?.template : undefined;
  }

  /** From the text of `tokenizer.json` and, if the checkpoint has it, `tokenizer_config.json`. */
  static fromFiles(tokenizerJson: string, tokenizerConfig?: string, where = 'tokenizer.json'): TextTokenizer {
    const parse = (text: string, name: string): unknown => {
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new ManifestError(`${name} is not valid JSON`, { url: name, issues: [String(e)] }, { cause: e });
      }
    };
    const json = parse(tokenizerJson, where);
    if (typeof json !== 'object' || json === null) throw new ManifestError(`${where} must be a JSON object`, { url: where, issues: ['not an object'] });
    const config = tokenizerConfig === undefined ? {} : parse(tokenizerConfig, where.replace(/tokenizer\.json$/, 'tokenizer_config.json'));
    return new TextTokenizer(json, (config ?? {}) as TokenizerConfig, where);
  }

  /** Number of token ids (vocabulary plus added tokens). */
  get size(): number {
    return this.#idToToken.length;
  }

  /** The id of a token such as `<|endoftext|>` or `</s>`, if the tokenizer has it. */
  tokenId(content: string): number | undefined {
    return this.#tok.token_to_id(content);
  }

  /** True for special tokens (bos, eos, chat markers): never streamed as text. */
  isSpecial(id: number): boolean {
    return this.#special.has(id);
  }

  /**
   * Text → token ids. With `addSpecialTokens` (default true) the tokenizer's post-processor
   * applies (e.g. Llama's leading `<s>`). With `limit`, a text that needs more than `limit` tokens
   * fails with InvalidInputError `context-overflow`; one that surely does (by its length alone) fails
   * before any work.
   */
  encode(text: string, options: { addSpecialTokens?: boolean; limit?: number; field?: string } = {}): number[] {
    const field = options.field ?? 'prompt';
    if (typeof text !== 'string') throw new InvalidInputError(`${field} must be a string, got ${typeof text}`, { reason: 'bad-text', field });
    const limit = options.limit;
    if (limit !== undefined) {
      // Each token covers at most maxTokenBytes bytes, and a UTF-16 code unit is at least one byte.
      const lower = Math.ceil(text.length / this.maxTokenBytes);
      if (lower > limit) {
        throw new InvalidInputError(`the ${field} is at least ${lower} tokens (${text.length} characters); the most this model takes is ${limit}`, { reason: 'context-overflow', field });
      }
    }
    const ids = this.#tok.encode(text, { add_special_tokens: options.addSpecialTokens !== false }).ids;
    if (limit !== undefined && ids.length > limit) {
      throw new InvalidInputError(`the ${field} is ${ids.length} tokens; the most this model takes is ${limit}`, { reason: 'context-overflow', field });
    }
    return ids;
  }

  /** Token ids → text; special tokens are left out unless `keepSpecial`. */
  decode(ids: readonly number[], options: { keepSpecial?: boolean } = {}): string {
    for (const id of ids) this.#check(id);
    if (ids.length === 0) return '';
    return this.#tok.decode([...ids], { skip_special_tokens: options.keepSpecial !== true });
  }

  #check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) {
      throw new InvalidInputError(`token id ${String(id)} is outside the vocabulary (0…${this.size - 1})`, { reason: 'bad-token', field: 'tokens' });
    }
  }

  /**
   * The raw bytes of one token, for streaming (a token may hold part of a UTF-8 character);
   * special tokens give none. Made on first use, then kept.
   */
  tokenBytes(id: number): Uint8Array {
    const known = this.#bytes[id];
    if (known) return known;
    this.#check(id);
    const t = this.#idToToken[id];
    let bytes: Uint8Array;
    if (t === undefined || this.#special.has(id)) bytes = new Uint8Array(0);
    else if (this.#mode === 'byte-level') {
      const out = new Uint8Array(t.length);
      let n = 0;
      let ok = true;
      for (const ch of t) {
        const b = this.#byteChars.get(ch);
        if (b === undefined) {
          ok = false;
          break;
        }
        out[n++] = b;
      }
      bytes = ok ? out.subarray(0, n) : this.#encoder.encode(t);
    } else if (this.#mode === 'sentencepiece') {
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
      bytes = m ? new Uint8Array([parseInt(m[1] as string, 16)]) : this.#encoder.encode(t.replaceAll('\u2581', ' '));
    } else bytes = this.#encoder.encode(this.#tok.decode([id], { skip_special_tokens: true }));
    this.#bytes[id] = bytes;
    return bytes;
  }
}
