/**
 * Task `text-classification` (format `tfjs-layers`): one operation, `classify`, micro-batched.
 * A text becomes exactly `maxLength` ids by the card's `text` section (`src/shared/text.ts`: normalise,
 * one id per code point, cut, pad), the ids of a batch run as one [B, maxLength] int32 tensor, and each
 * row of scores is cut to its caller's top-k.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import { checkTopK } from '../../src/shared/image-limits.js';
import type { Manifest, TextPreprocess } from '../../src/shared/registry/schema.js';
import type { Outcome } from '../../src/shared/settle.js';
import { checkText, encodeText, vocabularyOf } from '../../src/shared/text.js';
import type { Prediction } from '../../src/shared/types.js';
import { createRunnable, type Runnable } from '../runnable.js';
import { batchedOp, type Job } from './batched-op.js';
import { topPredictions } from './image-classification.js';
import { defineTask, type TaskEnv } from './task.js';

/** The card's text section; a model without one cannot be run. */
function specOf(manifest: Manifest): TextPreprocess {
  if (!manifest.text) throw new ManifestError(`"${manifest.id}" has no text section`, { url: manifest.id, issues: ['missing text'] });
  return manifest.text;
}

/** One text, encoded, and how many predictions its caller wants. */
interface Encoded {
  readonly ids: Int32Array;
  readonly topK: number;
}

/**
 * Classifies encoded texts as ONE model run ([B, maxLength] ids → [B, labels] scores).
 *
 * @example
 * await classifyTexts(runnable, manifest, [{ ids: encodeText('Guten Tag, wie geht es?', spec), topK: 1 }]);
 * // [{ ok: true, value: [{ label: 'de', index: 1, score: 0.9983 }] }]
 */
export async function classifyTexts(model: Runnable, manifest: Manifest, texts: readonly Encoded[]): Promise<Outcome<Prediction[]>[]> {
  const spec = specOf(manifest);
  const n = texts.length;
  const data = new Int32Array(n * spec.maxLength);
  texts.forEach((t, i) => data.set(t.ids, i * spec.maxLength));
  const x = tf.tensor2d(data, [n, spec.maxLength], 'int32');
  let y: tf.Tensor | undefined;
  try {
    y = await model.run(x);
    const all = (await y.data()) as Float32Array;
    const width = all.length / n;
    const labels = manifest.labels ?? [];
    return texts.map((t, i): Outcome<Prediction[]> => {
      try {
        return { ok: true, value: topPredictions(all.subarray(i * width, (i + 1) * width), labels, t.topK, manifest.output) };
      } catch (error) {
        return { ok: false, error };
      }
    });
  } finally {
    x.dispose();
    y?.dispose();
  }
}

/** The operations of one loaded text classifier. */
function textClassifierOps(current: () => Runnable, manifest: Manifest, env: TaskEnv) {
  const spec = specOf(manifest);
  const vocab = vocabularyOf(spec);
  return {
    'text-classification.classify': batchedOp<'text-classification.classify', Encoded, Prediction[]>(
      env,
      'classify',
      (input) => ({ ids: encodeText(checkText(input.text, spec.maxInputChars), spec, vocab), topK: checkTopK(input.topK) }),
      (jobs: readonly Job<Encoded>[]) => classifyTexts(current(), manifest, jobs.map((j) => j.prepared)),
    ),
  };
}

/**
 * The worker's row for `text-classification`.
 *
 * @example
 * const mounted = await textClassification.mount(files, env);
 * await mounted.ops['text-classification.classify']?.([{ callId: 1, input: { text: 'Dzień dobry, jak się masz?', topK: 1 }, signal }], { more: false, sink: undefined });
 * // [{ ok: true, value: [{ label: 'pl', index: 5, score: 0.99999 }] }]
 */
export const textClassification = defineTask<'text-classification', Runnable>({
  task: 'text-classification',
  formats: ['tfjs-layers'],
  load: (files) => createRunnable(files),
  warmUp: async (model, files) => {
    const spec = specOf(files.manifest);
    const [outcome] = await classifyTexts(model, files.manifest, [{ ids: encodeText('warm up', spec), topK: 1 }]);
    if (outcome && !outcome.ok) throw outcome.error;
  },
  dispose: (model) => model.dispose(),
  describe: () => ({ runtime: `tfjs (${tf.getBackend()})` }),
  ops: (current, files, env) => textClassifierOps(current, files.manifest, env),
});
