import { InvalidInputError } from '../shared/errors/invalid-input.js';
import type { ModelInfo } from '../shared/types.js';
import { toWire, type ImageInput } from '../image/to-wire.js';
import { newCallId } from '../worker-host.js';
import { batchedSender } from './batched-sender.js';
import type { ModelContext } from './context.js';
import { ModelHandle } from './handle.js';

/** Options of `Embedder.embed()`. */
export interface EmbedOptions {
  /** Scale each row to unit L2 norm (then a dot product is the cosine similarity). Default false. */
  readonly normalize?: boolean;
  readonly signal?: AbortSignal;
  /** Time limit of each image's call. Default: the client's `callTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Hand over your pixel buffers or ImageBitmaps instead of copies (zero-copy; yours become detached). Default false. */
  readonly transfer?: boolean;
}

/** Most images one `embed()` call takes. */
export const MAX_EMBED_INPUTS = 4096;

/**
 * A loaded embedding model (task `feature-extraction`), e.g. `fashion-embed`: the Fashion CNN up to its
 * Dense-64 layer. Get one from `client.load()`.
 *
 * Images are pre-processed as the model's card says (as `Classifier.classify()` does); each image is one
 * call, and the calls of one `embed()` (and concurrent ones) are micro-batched into model runs.
 *
 * @example
 * const embedder = await client.load('fashion-embed@stable', { task: 'feature-extraction' });
 * const [a, b] = await embedder.embed([sneaker, sandal], { normalize: true });
 * // a, b: Float32Array(64); cosine similarity = Σ a[i]·b[i]
 */
export class Embedder extends ModelHandle<'feature-extraction'> {
  readonly task = 'feature-extraction' as const;
  readonly #batcher;

  /** @internal Use `client.load()`. */
  constructor(ctx: ModelContext, handle: number, info: ModelInfo, generation: number) {
    super(ctx, handle, info, generation);
    this.#batcher = batchedSender('feature-extraction.embed', 'embed', () => this.handle, ctx.maxBatch);
  }

  /**
   * One embedding row per input image, in order. Inputs are what `classify()` takes; a bad image
   * rejects the whole call with its InvalidInputError (the others' work is dropped).
   *
   * @example
   * const rows = await embedder.embed([{ data: pixels, width: 28, height: 28, channels: 1 }]);
   * rows[0].length; // 64
   */
  async embed(inputs: readonly ImageInput[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    this.assertLive();
    if (!Array.isArray(inputs)) throw new InvalidInputError('embed() takes an array of images', { reason: 'not-an-array', field: 'inputs' });
    if (inputs.length === 0) throw new InvalidInputError('embed() needs at least one image', { reason: 'empty', field: 'inputs' });
    if (inputs.length > MAX_EMBED_INPUTS) throw new InvalidInputError(`embed() takes at most ${MAX_EMBED_INPUTS} images, got ${inputs.length}`, { reason: 'too-many', field: 'inputs' });
    if (options.normalize !== undefined && typeof options.normalize !== 'boolean') {
      throw new InvalidInputError(`normalize must be a boolean, got ${typeof options.normalize}`, { reason: 'bad-option', field: 'normalize' });
    }
    const normalize = options.normalize === true;
    const wires = await Promise.all(inputs.map((image) => toWire(image, options.transfer === true)));
    return Promise.all(
      wires.map((wire) => {
        const callId = newCallId();
        return this.call((remote) => this.#batcher.submit(remote, { item: { callId, input: { image: wire.image, normalize } }, transfer: wire.transfer, signal: options.signal }), {
          signal: options.signal,
          timeoutMs: options.timeoutMs ?? this.context.callTimeoutMs,
          callId,
          operation: 'embed',
        });
      }),
    );
  }
}
