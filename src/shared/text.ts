/**
 * Text input of text models that read characters (`text-classification`): the checks both sides make,
 * and the card's pre-processing (`text` section of the manifest) turned into ids. Shared by the main
 * thread (checks before a call crosses) and the worker (checks again, then encodes). No dependencies.
 */
import { InvalidInputError } from './errors/invalid-input.js';

/** Longest text accepted, in UTF-16 code units: longer text is refused (InvalidInputError `too-long`), never cut silently. */
export const MAX_TEXT_CHARS = 10_000;

/** The pre-processing of a character model, as its card declares it (see `TextPreprocess` in `registry/schema.ts`). */
export interface TextSpec {
  /** Applied in this order. */
  readonly normalize: readonly ('NFC' | 'NFKC' | 'lowercase' | 'collapse-whitespace' | 'trim')[];
  /** The characters with ids, in id order from `firstId`. */
  readonly vocabulary: readonly string[];
  readonly padId: number;
  readonly unknownId: number;
  readonly firstId: number;
  /** Every input is exactly this many ids. */
  readonly maxLength: number;
  /** Which ids of a longer text are kept: `end` cuts the end (the first `maxLength` are kept), `start` the start. */
  readonly truncate: 'end' | 'start';
  /** Where padding goes: `start` (left, the text's last character is read last) or `end`. */
  readonly pad: 'start' | 'end';
}

/**
 * Checks one text argument: a non-empty string (after trimming) of at most {@link MAX_TEXT_CHARS}.
 *
 * @example
 * checkText('Guten Morgen'); // 'Guten Morgen'
 * checkText('');             // throws InvalidInputError (reason 'empty-text', field 'text')
 */
export function checkText(text: unknown, limit: number = MAX_TEXT_CHARS): string {
  if (typeof text !== 'string') {
    const what = text === null ? 'null' : typeof text === 'object' ? ((text as object).constructor?.name ?? 'object') : typeof text;
    throw new InvalidInputError(`text must be a string, got ${what}`, { reason: 'bad-type', field: 'text' });
  }
  if (text.trim().length === 0) throw new InvalidInputError('text is empty', { reason: 'empty-text', field: 'text' });
  if (text.length > limit) throw new InvalidInputError(`text is too long (${text.length} characters; at most ${limit})`, { reason: 'too-long', field: 'text' });
  return text;
}

/**
 * The card's normalisation of a text.
 *
 * @example
 * normalizeText('  Ünïcödé\tTEXT ', ['NFC', 'lowercase', 'collapse-whitespace', 'trim']); // 'ünïcödé text'
 */
export function normalizeText(text: string, steps: TextSpec['normalize']): string {
  let s = text;
  for (const step of steps) {
    if (step === 'NFC' || step === 'NFKC') s = s.normalize(step);
    else if (step === 'lowercase') s = s.toLowerCase();
    else if (step === 'collapse-whitespace') s = s.replace(/\s+/gu, ' ');
    else s = s.trim();
  }
  return s;
}

/** A lookup of a spec's vocabulary (character → id), built once per model. */
export function vocabularyOf(spec: TextSpec): ReadonlyMap<string, number> {
  return new Map(spec.vocabulary.map((ch, i) => [ch, spec.firstId + i]));
}

/**
 * A text → exactly `maxLength` ids: normalised, one id per code point (unknown characters → `unknownId`),
 * cut and padded as the spec says.
 *
 * @example
 * encodeText('Ab', langidSpec); // Int32Array [0, 0, …, 0, 4, 21] (lowercased, left-padded to maxLength 96)
 */
export function encodeText(text: string, spec: TextSpec, vocab: ReadonlyMap<string, number> = vocabularyOf(spec)): Int32Array {
  let ids = Array.from(normalizeText(text, spec.normalize), (ch) => vocab.get(ch) ?? spec.unknownId);
  if (ids.length > spec.maxLength) ids = spec.truncate === 'end' ? ids.slice(0, spec.maxLength) : ids.slice(ids.length - spec.maxLength);
  const out = new Int32Array(spec.maxLength).fill(spec.padId);
  out.set(ids, spec.pad === 'start' ? spec.maxLength - ids.length : 0);
  return out;
}
