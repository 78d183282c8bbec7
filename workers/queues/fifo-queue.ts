/**
 * The generation queue, beside the batch queue: jobs on one model run one at a time, first
 * come first served (a generation owns the model's KV cache while it runs). A job aborted
 * while it waits leaves the queue at once.
 */
import { onAbort } from '../../src/shared/abort.js';

/**
 * @example
 * const q = new FifoQueue();
 * const [a, b] = await Promise.all([q.run(signal, () => generate('a'), aborted), q.run(signal, () => generate('b'), aborted)]); // b starts after a ends
 */
export class FifoQueue {
  #tail: Promise<void> = Promise.resolve();
  #waiting = 0;

  /** Jobs waiting or running. */
  get size(): number {
    return this.#waiting;
  }

  /** Runs `job` after every earlier one; if `signal` aborts first, returns `whenAborted()` without running it. */
  async run<T>(signal: AbortSignal, job: () => Promise<T>, whenAborted: () => T): Promise<T> {
    const prev = this.#tail;
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    this.#tail = prev.then(() => mine);
    this.#waiting++;
    let stop = (): void => undefined;
    try {
      const aborted = await Promise.race([
        prev.then(() => false),
        new Promise<boolean>((resolve) => {
          stop = onAbort(signal, () => resolve(true));
        }),
      ]);
      stop();
      if (aborted) return whenAborted();
      return await job();
    } finally {
      this.#waiting--;
      release();
    }
  }
}
