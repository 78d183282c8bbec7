import * as Comlink from 'comlink';
import { ModelDisposedError } from '../errors/model-disposed.js';
import { checkTopK } from '../image/limits.js';
import { toWire } from '../image/to-wire.js';
import { newCallId } from '../worker-host.js';
import type { ClassifyOptions, ImageInput, ModelInfo, Prediction } from '../types.js';
import type { ModelContext } from './context.js';

/**
 * A loaded image classifier. Get one from `client.load()`.
 *
 * @example
 * const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification' });
 * const top = await model.classify(canvas, { topK: 3 });
 * // [{ label: 'Sneaker', index: 7, score: 0.93 }, { label: 'Sandal', index: 5, score: 0.05 }, …]
 * await model.dispose();
 */
export class Classifier {
  readonly task = 'image-classification' as const;
  readonly #ctx: ModelContext;
  readonly #handle: number;
  #generation: number;
  #disposed = false;
  /** What the worker reported when the model was loaded. */
  readonly info: ModelInfo;

  /** @internal Use `client.load()`. */
  constructor(ctx: ModelContext, handle: number, info: ModelInfo, generation: number) {
    this.#ctx = ctx;
    this.#handle = handle;
    this.info = info;
    this.#generation = generation;
  }

  /** The model id. */
  get id(): string {
    return this.info.id;
  }
  /** The exact version loaded (aliases are resolved at load time). */
  get version(): string {
    return this.info.version;
  }
  /** Class labels, in output order. */
  get labels(): readonly string[] {
    return this.info.labels;
  }

  /**
   * Classifies one image. Pre-processing (resize, channels, normalisation) follows the
   * model's manifest and runs in the worker; pixels cross by transfer.
   *
   * @example
   * await model.classify({ data: pixels, width: 28, height: 28, channels: 1 }, { topK: 1 });
   * // [{ label: 'Trouser', index: 1, score: 0.99 }]
   */
  async classify(image: ImageInput, options: ClassifyOptions = {}): Promise<Prediction[]> {
    if (this.#disposed) throw new ModelDisposedError(`model "${this.id}" was disposed`, { model: this.id });
    const topK = checkTopK(options.topK);
    const wire = await toWire(image, options.transfer === true);
    const callId = newCallId();
    const pinned = `${this.info.id}@${this.info.version}`;
    const result = await this.#ctx.host.call(
      async (remote, _backend, generation) => {
        if (generation !== this.#generation) {
          // The worker was replaced (crash): load this exact version again, from the cache.
          await remote.load({ callId: newCallId(), handle: this.#handle, ref: pinned, task: 'image-classification' });
          this.#generation = generation;
        }
        return remote.classify(Comlink.transfer({ callId, handle: this.#handle, image: wire.image, topK }, wire.transfer));
      },
      { signal: options.signal, timeoutMs: options.timeoutMs ?? this.#ctx.callTimeoutMs, callId, operation: 'classify' },
    );
    if (result.backend !== this.#ctx.host.backend?.name) await this.#ctx.host.refreshBackend();
    return result.predictions;
  }

  /** Frees the model in the worker. Further calls throw ModelDisposedError. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#ctx.forget(this.#handle);
    if (this.#ctx.host.disposed) return;
    const generation = this.#generation;
    await this.#ctx.host
      .call(async (remote, _b, gen) => (gen === generation ? remote.unload(this.#handle) : undefined), { operation: 'dispose', timeoutMs: 10_000 })
      .catch(() => undefined);
  }
}
