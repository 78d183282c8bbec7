/**
 * GPT-2's byte-level BPE, from a Hugging Face `tokenizer.json` (`model.type: "BPE"`,
 * ByteLevel pre-tokenizer and decoder). Pure TypeScript, no tfjs: it runs in the
 * worker and in Node tests alike.
 *
 * Encoding: special tokens are split out first; the rest goes through GPT-2's
 * pre-tokenization regex (Unicode letter/number classes), each piece's UTF-8 bytes are
 * mapped to printable characters (the byte↔unicode table), then merged by rank.
 * Decoding maps tokens back to bytes, so `decode(encode(s)) === s` for any string.
 */
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { ManifestError } from '../../src/shared/errors/manifest.js';

/** GPT-2's pre-tokenization pattern (contractions, letters, numbers, other, spaces). */
export const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** GPT-2's byte → printable character table (and its inverse). */
export function bytesToUnicode(): { byteToChar: string[]; charToByte: Map<string, number> } {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const byteToChar: string[] = new Array<string>(256);
  const charToByte = new Map<string, number>();
  bs.forEach((b, i) => {
    const c = String.fromCharCode(cs[i] as number);
    byteToChar[b] = c;
    charToByte.set(c, b);
  });
  return { byteToChar, charToByte };
}

interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: Array<string | [string, string]> };
  added_tokens?: Array<{ id: number; content: string; special?: boolean }>;
  pre_tokenizer?: { type?: string; add_prefix_space?: boolean; pretokenizers?: Array<{ type?: string }> } | null;
  decoder?: { type?: string } | null;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A GPT-2 tokenizer.
 *
 * @example
 * const tok = Gpt2Tokenizer.fromJson(JSON.parse(tokenizerJsonText));
 * tok.encode('Hello 🎉'); // [1087, 3, 250, 211, 142] (ids depend on the vocabulary)
 * tok.decode(tok.encode('日本語')); // '日本語'
 */
export class Gpt2Tokenizer {
  readonly #vocab: Map<string, number>;
  readonly #idToToken: string[];
  readonly #ranks: Map<string, number>;
  readonly #special: Map<string, number>;
  readonly #specialRe: RegExp | undefined;
  readonly #byteToChar: string[];
  readonly #charToByte: Map<string, number>;
  readonly #cache = new Map<string, number[]>();
  readonly #addPrefixSpace: boolean;
  readonly #encoder = new TextEncoder();
  /** Byte sequence of each token id seen so far (special tokens: their UTF-8 text), made on first use. */
  readonly #tokenBytes: (Uint8Array | undefined)[] = [];

  private constructor(json: TokenizerJson, where: string) {
    const bad = (why: string): never => {
      throw new ManifestError(`${where}: ${why}`, { url: where, issues: [why] });
    };
    const model = json.model;
    if (!model || (model.type !== undefined && model.type !== 'BPE')) bad('model.type must be "BPE"');
    if (!model?.vocab || typeof model.vocab !== 'object') bad('model.vocab is missing');
    if (!Array.isArray(model?.merges)) bad('model.merges is missing');
    const pre = json.pre_tokenizer;
    const preTypes = pre ? [pre.type, ...(pre.pretokenizers ?? []).map((p) => p.type)] : [];
    if (!preTypes.includes('ByteLevel')) bad('only the ByteLevel pre-tokenizer (GPT-2 byte-level BPE) is supported');
    this.#addPrefixSpace = pre?.add_prefix_space === true;
    this.#vocab = new Map(Object.entries(model!.vocab!));
    this.#idToToken = [];
    for (const [t, id] of this.#vocab) this.#idToToken[id] = t;
    this.#ranks = new Map();
    model!.merges!.forEach((m, i) => {
      const [a, b] = Array.isArray(m) ? m : (m.split(' ') as [string, string]);
      this.#ranks.set(`${a} ${b}`, i);
    });
    this.#special = new Map();
    for (const t of json.added_tokens ?? []) {
      this.#special.set(t.content, t.id);
      this.#idToToken[t.id] = t.content;
    }
    const specials = [...this.#special.keys()].sort((a, b) => b.length - a.length);
    this.#specialRe = specials.length > 0 ? new RegExp(`(${specials.map(escapeRe).join('|')})`) : undefined;
    const { byteToChar, charToByte } = bytesToUnicode();
    this.#byteToChar = byteToChar;
    this.#charToByte = charToByte;
  }

  /** Parses `tokenizer.json` (text or object). */
  static fromJson(json: unknown, where = 'tokenizer.json'): Gpt2Tokenizer {
    let data = json;
    if (typeof json === 'string') {
      try {
        data = JSON.parse(json);
      } catch (e) {
        throw new ManifestError(`${where} is not valid JSON`, { url: where, issues: [String(e)] }, { cause: e });
      }
    }
    if (typeof data !== 'object' || data === null) throw new ManifestError(`${where} must be a JSON object`, { url: where, issues: ['not an object'] });
    return new Gpt2Tokenizer(data as TokenizerJson, where);
  }

  /** Number of token ids (vocabulary plus added tokens). */
  get size(): number {
    return this.#idToToken.length;
  }

  /** The id of a special token such as `<|endoftext|>`, if the tokenizer has it. */
  specialId(content: string): number | undefined {
    return this.#special.get(content);
  }

  #bpe(word: string): number[] {
    const hit = this.#cache.get(word);
    if (hit) return hit;
    let parts = Array.from(word);
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < parts.length - 1; i++) {
        const r = this.#ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = parts[best] as string;
      const b = parts[best + 1] as string;
      const out: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1 && parts[i] === a && parts[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(parts[i] as string);
      }
      parts = out;
    }
    const ids = parts.map((p) => {
      const id = this.#vocab.get(p);
      if (id === undefined) throw new ManifestError(`tokenizer.json: piece "${p}" has no id (vocabulary and merges disagree)`, { url: 'tokenizer.json', issues: ['missing vocab entry'] });
      return id;
    });
    if (this.#cache.size < 50_000) this.#cache.set(word, ids);
    return ids;
  }

  /** Text → token ids. Special tokens written in the text (e.g. `<|endoftext|>`) become their ids. */
  encode(text: string): number[] {
    if (typeof text !== 'string') throw new InvalidInputError('text to encode must be a string', { reason: 'bad-text', field: 'prompt' });
    const ids: number[] = [];
    const pieces = this.#specialRe ? text.split(this.#specialRe) : [text];
    pieces.forEach((piece, i) => {
      if (piece === '') return;
      const special = this.#specialRe && i % 2 === 1 ? this.#special.get(piece) : undefined;
      if (special !== undefined) {
        ids.push(special);
        return;
      }
      const src = this.#addPrefixSpace && i === 0 && !piece.startsWith(' ') ? ` ${piece}` : piece;
      for (const m of src.matchAll(GPT2_PATTERN)) {
        let mapped = '';
        for (const b of this.#encoder.encode(m[0])) mapped += this.#byteToChar[b];
        ids.push(...this.#bpe(mapped));
      }
    });
    return ids;
  }

  /** The raw bytes of one token (a token may hold part of a UTF-8 character). Made on first use, then kept. */
  tokenBytes(id: number): Uint8Array {
    const known = this.#tokenBytes[id];
    if (known) return known;
    const t = Number.isInteger(id) ? this.#idToToken[id] : undefined;
    if (t === undefined) {
      if (Number.isInteger(id) && id >= 0 && id < this.size) return new Uint8Array(0); // a hole in the vocabulary
      throw new InvalidInputError(`token id ${id} is outside the vocabulary (0…${this.size - 1})`, { reason: 'bad-token', field: 'tokens' });
    }
    let bytes: Uint8Array;
    if (this.#special.has(t)) bytes = this.#encoder.encode(t);
    else {
      const out = new Uint8Array(t.length);
      let n = 0;
      let byteLevel = true;
      for (const ch of t) {
        const b = this.#charToByte.get(ch);
        if (b === undefined) {
          byteLevel = false; // not a byte-level token: its text
          break;
        }
        out[n++] = b;
      }
      bytes = byteLevel ? out.subarray(0, n) : this.#encoder.encode(t);
    }
    this.#tokenBytes[id] = bytes;
    return bytes;
  }

  /** Token ids → text (invalid UTF-8, e.g. a cut-off character, becomes U+FFFD). */
  decode(ids: readonly number[]): string {
    const chunks = ids.map((id) => this.tokenBytes(id));
    const all = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
    let o = 0;
    for (const c of chunks) {
      all.set(c, o);
      o += c.length;
    }
    return new TextDecoder().decode(all);
  }
}
