/**
 * Cancellation in the worker, in one place: every call that can be aborted (a load, each
 * call of a message) is registered here under its call id while it runs. `abort(callId)`
 * from the main thread (the caller's signal, its time limit) aborts that call's signal; the
 * steps of the call check it with `throwIfAborted` (`src/shared/abort.ts`), and downloads
 * and queues listen to it.
 */
import { AbortError } from '../src/shared/errors/abort.js';

export class Calls {
  readonly #live = new Map<number, AbortController>();

  /** Calls running now. */
  get size(): number {
    return this.#live.size;
  }

  /** Registers call `callId`; its signal aborts when the main thread gives up on it. */
  begin(callId: number): AbortSignal {
    const c = new AbortController();
    this.#live.set(callId, c);
    return c.signal;
  }

  /** The call ended (either way): it can no longer be aborted. */
  end(callId: number): void {
    this.#live.delete(callId);
  }

  /**
   * Runs `fn` with the signal of call `callId`, registered for as long as it runs.
   *
   * @example
   * await calls.with(req.callId, (signal) => loader.resolve(req.ref, signal));
   */
  async with<T>(callId: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = this.begin(callId);
    try {
      return await fn(signal);
    } finally {
      this.end(callId);
    }
  }

  /** Aborts call `callId` if it is running; true when it was. */
  abort(callId: number): boolean {
    const c = this.#live.get(callId);
    c?.abort(new AbortError('aborted by the caller', { operation: 'call' }));
    return c !== undefined;
  }
}
