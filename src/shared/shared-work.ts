/**
 * One piece of work shared by several callers, each with its own AbortSignal: a caller that
 * aborts gives up alone (it rejects with its own AbortError), and the work itself is aborted
 * only when every caller still waiting has given up.
 */
import { raceAbort } from './abort.js';

interface Entry<V> {
  readonly promise: Promise<V>;
  readonly controller: AbortController;
  waiting: number;
  settled: boolean;
}

/**
 * @example
 * const loads = new SharedWork<string, Classifier>();
 * // Two callers, one load; the first caller's abort does not touch the second.
 * const [a, b] = await Promise.allSettled([loads.join('cnn', (signal) => load('cnn', signal), first.signal, 'load'), loads.join('cnn', start, second.signal, 'load')]);
 */
export class SharedWork<K, V> {
  readonly #entries = new Map<K, Entry<V>>();
  /** Keep a successful result for later joins (a loaded model), or forget it once settled. */
  readonly #keep: boolean;

  constructor(options: { keep: boolean } = { keep: true }) {
    this.#keep = options.keep;
  }

  /** Joins the work under `key`, starting it with `start` if none is under way (or kept). */
  async join(key: K, start: (signal: AbortSignal) => Promise<V>, signal: AbortSignal | undefined, operation: string): Promise<V> {
    let entry = this.#entries.get(key);
    if (!entry) {
      const controller = new AbortController();
      const promise = start(controller.signal);
      const e: Entry<V> = { promise, controller, waiting: 0, settled: false };
      this.#entries.set(key, e);
      promise.then(
        () => {
          e.settled = true;
          if (!this.#keep && this.#entries.get(key) === e) this.#entries.delete(key);
        },
        () => {
          e.settled = true;
          if (this.#entries.get(key) === e) this.#entries.delete(key);
        },
      );
      entry = e;
    }
    const e = entry;
    e.waiting++;
    try {
      return await raceAbort(e.promise, signal, operation);
    } catch (err) {
      if (signal?.aborted && !e.settled && e.waiting === 1) {
        // The last caller waiting gave up: stop the work, and let the next caller start anew.
        if (this.#entries.get(key) === e) this.#entries.delete(key);
        e.controller.abort(signal.reason);
      }
      throw err;
    } finally {
      e.waiting--;
    }
  }

  /** Forgets every kept result (they are not disposed). */
  clear(): void {
    this.#entries.clear();
  }
}
