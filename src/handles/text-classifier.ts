import { checkTopK } from '../shared/image-limits.js';
import { checkText } from '../shared/text.js';
import type { ModelInfo, Prediction } from '../shared/types.js';
import { newCallId } from '../worker-host.js';
import { batchedSender } from './batched-sender.js';
import type { ModelContext } from './context.js';
import { ModelHandle } from './handle.js';

/** Options of `TextClassifier.classify()`. */
export interface TextClassifyOptions {
  /** How many predictions to return, best first. Default 5 (at most the number of labels). */
  readonly topK?: number;
  readonly signal?: AbortSignal;
  /** Time limit of this call. Default: the client's `callTimeoutMs`. */
  readonly timeoutMs?: number;
}

/**
 * A loaded text classifier (task `text-classification`), e.g. the language identifier `langid-lstm`.
 * Get one from `client.load()`.
 *
 * The text is pre-processed in the worker as the model's card declares (`model.info` → the manifest's
 * `text` section: normalisation, character vocabulary, unknown id, `maxLength` and how longer text is
 * cut). Text longer than 10,000 characters is refused (InvalidInputError `too-long`), not cut; text
 * within that limit but longer than the model reads is cut as the card says (`langid-lstm`: its first
 * 96 characters are read). Concurrent calls are micro-batched like `Classifier.classify()`.
 *
 * @example
 * const langid = await client.load('langid-lstm@stable', { task: 'text-classification' });
 * await langid.classify('Wo ist der Bahnhof, bitte?', { topK: 2 });
 * // [{ label: 'de', index: 1, score: 0.9952 }, { label: 'en', index: 0, score: 0.0043 }]
 * await Promise.all(sentences.map((s) => langid.classify(s, { topK: 1 }))); // one batch
 */
export class TextClassifier extends ModelHandle<'text-classification'> {
  readonly task = 'text-classification' as const;
  readonly #batcher;

  /** @internal Use `client.load()`. */
  constructor(ctx: ModelContext, handle: number, info: ModelInfo, generation: number) {
    super(ctx, handle, info, generation);
    this.#batcher = batchedSender('text-classification.classify', 'classify', () => this.handle, ctx.maxBatch);
  }

  /** Class labels, in output order. */
  get labels(): readonly string[] {
    return this.info.labels;
  }

  /**
   * Classifies one text. Bad input (not a string, empty, longer than 10,000 characters, a bad topK)
   * throws InvalidInputError before anything is sent.
   *
   * @example
   * await langid.classify('Где находится вокзал?', { topK: 1 }); // [{ label: 'ru', index: 7, score: 0.99999 }]
   */
  async classify(text: string, options: TextClassifyOptions = {}): Promise<Prediction[]> {
    this.assertLive();
    const checked = checkText(text);
    const topK = checkTopK(options.topK);
    const callId = newCallId();
    return this.call((remote) => this.#batcher.submit(remote, { item: { callId, input: { text: checked, topK } }, transfer: [], signal: options.signal }), {
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? this.context.callTimeoutMs,
      callId,
      operation: 'classify',
    });
  }
}
