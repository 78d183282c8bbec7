/**
 * Worker half of micro-batching: calls for one model wait here while the model is busy;
 * each run takes everything waiting (up to `maxBatch`) as one batch.
 *
 * An idle queue starts its run at once: a lone call waits for no timer. After a run the
 * queue yields to the event loop once, so messages that arrived during the run (the worker
 * cannot see them while it computes) join the next batch — unless nothing waits and the
 * sender said it had no other call in flight (a lone call: no hop at all).
 */
import { runAndSettle, type Outcome, type Waiter } from '../../src/shared/settle.js';
import { nextTask } from './next-task.js';

export interface BatchQueueOptions<I> {
  /** Largest batch (at least 1). */
  readonly maxBatch: number;
  /** A reason when the item was given up while it waited (it is then dropped and rejects with it). */
  readonly cancelled: (item: I) => unknown;
  /** Lets pending events (incoming messages) run; default: one task hop ({@link nextTask}). */
  readonly yieldToEvents?: () => Promise<void>;
}

interface Entry<I, R> extends Waiter<R> {
  readonly item: I;
}

/**
 * @example
 * const q = new BatchQueue((xs: number[]) => Promise.resolve(xs.map((x) => ({ ok: true as const, value: x + 1 }))), { maxBatch: 64, cancelled: () => undefined });
 * await Promise.all(q.pushAll([1, 2])); // [2, 3], one run of [1, 2]
 */
export class BatchQueue<I, R> {
  readonly #run: (items: I[]) => Promise<ReadonlyArray<Outcome<R>>>;
  readonly #options: BatchQueueOptions<I>;
  #waiting: Entry<I, R>[] = [];
  #busy = false;
  #expectMore = true;

  constructor(run: (items: I[]) => Promise<ReadonlyArray<Outcome<R>>>, options: BatchQueueOptions<I>) {
    this.#run = run;
    this.#options = options;
  }

  /** Items waiting for a run. */
  get size(): number {
    return this.#waiting.length;
  }

  /** Adds an item; settles with this item's own outcome. */
  push(item: I): Promise<R> {
    return this.pushAll([item])[0] as Promise<R>;
  }

  /**
   * Adds items (one message's calls) together; each promise settles with its item's own
   * outcome. An idle queue starts their run at once, synchronously: no timer, no hop.
   * `expectMore: false` (the sender has no other call in flight) lets the queue go idle
   * right after the run instead of first yielding to catch messages that arrived meanwhile.
   */
  pushAll(items: readonly I[], expectMore = true): Promise<R>[] {
    this.#expectMore = expectMore;
    const promises = items.map((item) => new Promise<R>((resolve, reject) => this.#waiting.push({ item, resolve, reject })));
    if (!this.#busy && this.#waiting.length > 0) {
      this.#busy = true;
      void this.#drain();
    }
    return promises;
  }

  /** Takes up to maxBatch live items from the front; cancelled ones are rejected and dropped. */
  #take(): Entry<I, R>[] {
    const max = Math.max(1, Math.floor(this.#options.maxBatch));
    const batch: Entry<I, R>[] = [];
    let i = 0;
    for (; i < this.#waiting.length && batch.length < max; i++) {
      const e = this.#waiting[i] as Entry<I, R>;
      const reason = this.#options.cancelled(e.item);
      if (reason === undefined) batch.push(e);
      else e.reject(reason);
    }
    this.#waiting = this.#waiting.slice(i);
    return batch;
  }

  async #drain(): Promise<void> {
    try {
      for (;;) {
        const batch = this.#take();
        if (batch.length === 0) {
          if (this.#waiting.length === 0) return;
          continue;
        }
        await runAndSettle(batch, () => this.#run(batch.map((e) => e.item)), 'a batch run');
        // Nothing waits and the last sender had nothing else in flight: a lone call, go idle.
        if (this.#waiting.length === 0 && !this.#expectMore) return;
        await (this.#options.yieldToEvents ?? nextTask)();
      }
    } finally {
      this.#busy = false;
    }
  }
}
