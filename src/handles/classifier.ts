import * as Comlink from 'comlink';
import { Coalescer, type Outcome } from '../batching/coalesce.js';
import { abortError } from '../shared/abort.js';
import { InvalidInputError } from '../shared/errors/invalid-input.js';
import { checkTopK } from '../shared/image-limits.js';
import { toWire } from '../image/to-wire.js';
import { callOp, newCallId } from '../worker-host.js';
import type { ImageInput } from '../image/to-wire.js';
import type { ModelInfo, Prediction } from '../shared/types.js';
import type { CallItem, WorkerApi } from '../shared/wire.js';
import type { ModelContext } from './context.js';
import { ModelHandle } from './handle.js';

/** Options of `classify()`. */
export interface ClassifyOptions {
  /** How many predictions to return, best first. Default 5 (at most the number of labels). */
  readonly topK?: number;
  readonly signal?: AbortSignal;
  /** Time limit of this call. Default: the client's `callTimeoutMs`. */
  readonly timeoutMs?: number;
  /** Hand over your pixel buffer or ImageBitmap instead of a copy of it (zero-copy; yours becomes detached). Default false. */
  readonly transfer?: boolean;
}

/** One call on its way to the worker. */
interface Pending {
  readonly item: CallItem<'image-classification.classify'>;
  readonly transfer: Transferable[];
  readonly signal: AbortSignal | undefined;
}

/**
 * A loaded image classifier. Get one from `client.load()`.
 *
 * Concurrent calls are micro-batched (see `ClientOptions.batching`): calls made in the
 * same tick cross to the worker as one message, and the worker runs calls that wait for
 * the model as one batch. Each call keeps its own result, errors, signal and time limit.
 *
 * @example
 * const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification' });
 * const top = await model.classify(canvas, { topK: 3 });
 * // [{ label: 'Sneaker', index: 7, score: 0.93 }, { label: 'Sandal', index: 5, score: 0.05 }, …]
 * const many = await Promise.all(pictures.map((p) => model.classify(p, { topK: 1 }))); // one batch
 * await model.dispose();
 */
export class Classifier extends ModelHandle<'image-classification'> {
  readonly task = 'image-classification' as const;
  readonly #batcher: Coalescer<Comlink.Remote<WorkerApi>, Pending, Prediction[]>;
  /** classify messages sent to a worker and not answered yet. */
  readonly #inFlight = new WeakMap<Comlink.Remote<WorkerApi>, number>();

  /** @internal Use `client.load()`. */
  constructor(ctx: ModelContext, handle: number, info: ModelInfo, generation: number) {
    super(ctx, handle, info, generation);
    this.#batcher = new Coalescer((remote, pending) => this.#send(remote, pending), {
      maxBatch: ctx.maxBatch,
      cancelled: (p) => (p.signal?.aborted ? abortError(p.signal, 'classify') : undefined),
    });
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
    this.assertLive();
    const topK = checkTopK(options.topK);
    const wire = await toWire(image, options.transfer === true);
    const callId = newCallId();
    const pending: Pending = { item: { callId, input: { image: wire.image, topK } }, transfer: wire.transfer, signal: options.signal };
    return this.call((remote) => this.#batcher.submit(remote, pending), {
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? this.context.callTimeoutMs,
      callId,
      operation: 'classify',
    });
  }

  /**
   * Sends coalesced calls as one message; one outcome per call. A buffer or bitmap handed
   * over (`transfer: true`) by two calls of one message would make the whole message fail
   * to post: the second such call fails alone instead.
   */
  async #send(remote: Comlink.Remote<WorkerApi>, pending: Pending[]): Promise<(Outcome<Prediction[]> | undefined)[]> {
    const outcomes: (Outcome<Prediction[]> | undefined)[] = new Array(pending.length);
    let sent = pending;
    let transfer = pending.length === 1 ? (pending[0] as Pending).transfer : [];
    if (pending.length > 1) {
      const seen = new Set<Transferable>();
      sent = pending.filter((p, i) => {
        if (p.transfer.some((t) => seen.has(t))) {
          outcomes[i] = { ok: false, error: new InvalidInputError('the same buffer or ImageBitmap was handed over (transfer: true) by two concurrent calls', { reason: 'duplicate-transfer', field: 'image' }) };
          return false;
        }
        p.transfer.forEach((t) => seen.add(t));
        return true;
      });
      transfer = [...seen];
    }
    if (sent.length > 0) {
      // Counted per worker: the messages a crashed worker never answers do not count in its successor.
      const inFlight = this.#inFlight.get(remote) ?? 0;
      this.#inFlight.set(remote, inFlight + 1);
      const res = await callOp(remote, Comlink.transfer({ op: 'image-classification.classify' as const, handle: this.handle, items: sent.map((p) => p.item), more: inFlight > 0 }, transfer)).finally(() =>
        this.#inFlight.set(remote, (this.#inFlight.get(remote) ?? 1) - 1),
      );
      let next = 0;
      for (let i = 0; i < pending.length; i++) {
        if (outcomes[i]) continue;
        const o = res.outcomes[next++];
        if (o) outcomes[i] = o;
      }
    }
    // A hole (an answer short of outcomes) is rejected by the Coalescer.
    return outcomes;
  }
}
