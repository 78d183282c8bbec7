/**
 * models/langid-lstm: webinfer's text pre-processing (src/shared/text.ts, the card's `text` section) gives the
 * ids PyTorch was given, and the exported tfjs layers model (Embedding + LSTM + Dense, tfjs CPU in Node)
 * reproduces PyTorch's probabilities on the committed parity fixture; the card records what it claims.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import * as v from 'valibot';
import { beforeAll, describe, expect, it } from 'vitest';
import { layersModelHandler } from './helpers/layers-model.js';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { TextPreprocess } from '../../src/shared/registry/schema.js';
import { checkText, encodeText, MAX_TEXT_CHARS, normalizeText, vocabularyOf } from '../../src/shared/text.js';

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/langid-lstm');
const read = (f: string): Buffer => readFileSync(path.join(dir, f));
const card = JSON.parse(read('card.json').toString('utf8')) as { labels: string[]; text: unknown; metrics: Record<string, number>; license: string };
const parity = JSON.parse(read('parity.json').toString('utf8')) as { labels: string[]; texts: string[]; ids: number[][]; probabilities: number[][] };
const spec = v.parse(TextPreprocess, card.text);


beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('text pre-processing (src/shared/text.ts)', () => {
  it('normalises as the card says: NFC, lowercase, one space per white-space run, trimmed', () => {
    expect(normalizeText('  E\u0301TE\u0301\t\n  Été ', spec.normalize)).toBe('été été');
  });
  it('encodes every parity text to the ids PyTorch got (left-padded, cut after maxLength, unknown → 1)', () => {
    const vocab = vocabularyOf(spec);
    parity.texts.forEach((t, i) => expect(Array.from(encodeText(t, spec, vocab)), t).toEqual(parity.ids[i]));
    expect(parity.ids.some((ids) => ids.includes(spec.unknownId))).toBe(true);
    expect(parity.ids.some((ids) => ids[0] !== spec.padId)).toBe(true); // a text longer than maxLength
  });
  it('refuses non-strings, empty text and text over 10,000 characters with InvalidInputError', () => {
    const reason = (x: unknown): string | undefined => {
      try {
        checkText(x);
        return undefined;
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidInputError);
        return (e as InvalidInputError).reason;
      }
    };
    expect(reason(42)).toBe('bad-type');
    expect(reason(null)).toBe('bad-type');
    expect(reason(['a'])).toBe('bad-type');
    expect(reason('')).toBe('empty-text');
    expect(reason(' \n\t ')).toBe('empty-text');
    expect(reason('x'.repeat(MAX_TEXT_CHARS + 1))).toBe('too-long');
    expect(reason('x'.repeat(MAX_TEXT_CHARS))).toBeUndefined();
  });
});

describe('models/langid-lstm', () => {
  it('is Embedding → LSTM → Dense(softmax) over the card labels, under 2 MB', async () => {
    const model = await tf.loadLayersModel(layersModelHandler(dir));
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Embedding', 'LSTM', 'Dense']);
    expect(model.outputs[0]!.shape).toEqual([null, card.labels.length]);
    expect(model.inputs[0]!.shape).toEqual([null, spec.maxLength]);
    model.dispose();
    expect(read('model.json').length + read('group1-shard1of1.bin').length).toBeLessThan(2 * 1024 * 1024);
    expect(card.labels.length).toBeGreaterThanOrEqual(6);
    expect(parity.labels).toEqual(card.labels);
  });

  it('tfjs reproduces PyTorch on the parity texts: probabilities within 1e-4, same top-1', async () => {
    const model = await tf.loadLayersModel(layersModelHandler(dir));
    const x = tf.tensor2d(parity.ids, [parity.ids.length, spec.maxLength], 'int32');
    const y = model.predict(x) as tf.Tensor2D;
    const probs = (await y.array()) as number[][];
    tf.dispose([x, y]);
    model.dispose();
    let maxDiff = 0;
    probs.forEach((row, i) => row.forEach((p, c) => (maxDiff = Math.max(maxDiff, Math.abs(p - parity.probabilities[i]![c]!)))));
    expect(maxDiff).toBeLessThan(1e-4);
    const argmax = (r: number[]): number => r.indexOf(Math.max(...r));
    expect(probs.map(argmax)).toEqual(parity.probabilities.map(argmax));
  });

  it('the card claims ≥ 95 % held-out accuracy on single sentences and records every source licence', () => {
    expect(card.metrics['accuracy.pytorch']).toBeGreaterThanOrEqual(0.95);
    expect(card.metrics['testSentences']).toBeGreaterThan(3000);
    for (const pkg of ['fortunes', 'fortunes-de', 'fortunes-es', 'fortunes-it', 'fortunes-br', 'fortunes-pl', 'fortunes-cs', 'fortunes-ru', 'fortunes-eo']) expect(card.license).toContain(`(${pkg})`);
  });
});

describe('the text section of a manifest', () => {
  it('has defaults, refuses a vocabulary entry of two characters, and is required for text-classification', async () => {
    const { check, Manifest, manifestProblems } = await import('../../src/shared/registry/schema.js');
    const ok = v.parse(TextPreprocess, { vocabulary: ['a', 'é'], maxLength: 8 });
    expect(ok).toMatchObject({ normalize: ['NFC', 'lowercase', 'collapse-whitespace', 'trim'], padId: 0, unknownId: 1, firstId: 2, truncate: 'end', pad: 'start', maxInputChars: 10_000 });
    expect(v.safeParse(TextPreprocess, { vocabulary: ['ab'], maxLength: 8 }).success).toBe(false);
    const base = {
      schema: 'webinfer.manifest/v1', id: 'langid', version: '1.0.0', task: 'text-classification', format: 'tfjs-layers', createdAt: '2026-01-01T00:00:00.000Z',
      variants: { float32: { entry: 'model.json', files: [{ path: 'model.json', size: 1, sha256: 'a'.repeat(64) }] } },
    };
    const bare = check(Manifest, base);
    expect(bare.ok).toBe(true);
    if (bare.ok) expect(manifestProblems(bare.value)).toEqual(['text: required for text-classification', 'labels: required for text-classification']);
    const full = check(Manifest, { ...base, labels: card.labels, text: card.text });
    expect(full.ok && manifestProblems(full.value)).toEqual([]);
  });
});
