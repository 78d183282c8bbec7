/**
 * Main-thread half of micro-batching: calls submitted in the same tick (before the
 * microtask queue drains) are sent as ONE message per key, in chunks of at most
 * `maxBatch` items. The window is a single microtask, so a lone call waits for
 * nothing; with `maxBatch` 1 every call is sent at once, on its own.
 */
import { settle, type Outcome, type Waiter } from '../shared/settle.js';

export type { Outcome };

export interface CoalescerOptions<I> {
  /** Largest number of items in one message; 1 turns coalescing off. */
  readonly maxBatch: number;
  /** A reason when the item was given up before it was sent (then it is not sent, and rejects with it). */
  readonly cancelled?: (item: I) => unknown;
}

interface Entry<I, R> extends Waiter<R> {
  readonly item: I;
}

/**
 * Groups items by key during one microtask and hands each group to `send`, which
 * answers with one outcome per item, in order.
 *
 * @example
 * const c = new Coalescer((key: string, items: number[]) => Promise.resolve(items.map((n) => ({ ok: true as const, value: n * 2 }))), { maxBatch: 64 });
 * await Promise.all([c.submit('a', 1), c.submit('a', 2)]); // [2, 4], sent as one call of send('a', [1, 2])
 */
export class Coalescer<K, I, R> {
  readonly #send: (key: K, items: I[]) => Promise<ReadonlyArray<Outcome<R> | undefined>>;
  readonly #options: CoalescerOptions<I>;
  #pending = new Map<K, Entry<I, R>[]>();
  #scheduled = false;
  /** Messages sent so far (for tests and debugging). */
  sent = 0;

  constructor(send: (key: K, items: I[]) => Promise<ReadonlyArray<Outcome<R> | undefined>>, options: CoalescerOptions<I>) {
    this.#send = send;
    this.#options = options;
  }

  /** Queues `item` for `key`; resolves or rejects with this item's own outcome. */
  submit(key: K, item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const entry: Entry<I, R> = { item, resolve, reject };
      if (this.#options.maxBatch <= 1) {
        this.#dispatch(key, [entry]);
        return;
      }
      const group = this.#pending.get(key);
      if (group) group.push(entry);
      else this.#pending.set(key, [entry]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#scheduled = false;
    const pending = this.#pending;
    this.#pending = new Map();
    const max = Math.max(1, Math.floor(this.#options.maxBatch));
    for (const [key, entries] of pending) {
      const live: Entry<I, R>[] = [];
      for (const e of entries) {
        const reason = this.#options.cancelled?.(e.item);
        if (reason === undefined) live.push(e);
        else e.reject(reason);
      }
      for (let i = 0; i < live.length; i += max) this.#dispatch(key, live.slice(i, i + max));
    }
  }

  #dispatch(key: K, entries: Entry<I, R>[]): void {
    this.sent++;
    let request: Promise<ReadonlyArray<Outcome<R> | undefined>>;
    try {
      request = this.#send(
        key,
        entries.map((e) => e.item),
      );
    } catch (e) {
      request = Promise.reject(e);
    }
    request.then(
      (outcomes) => settle(entries, outcomes, 'the batch answer'),
      (error: unknown) => entries.forEach((entry) => entry.reject(error)),
    );
  }
}
