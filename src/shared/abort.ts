/**
 * The one way webinfer turns an aborted `AbortSignal` into an error, on both sides of the
 * worker boundary: an `AbortError` naming the operation, with the signal's reason as its
 * cause (a reason that already is our `AbortError` passes through unchanged).
 */
import { AbortError } from './errors/abort.js';

/**
 * The error for an aborted signal.
 *
 * @example
 * const ac = new AbortController(); ac.abort('user left');
 * abortError(ac.signal, 'classify'); // AbortError: classify aborted (operation 'classify', cause 'user left')
 */
export function abortError(signal: AbortSignal, operation: string): AbortError {
  const reason: unknown = signal.reason;
  if (reason instanceof AbortError) return reason;
  return new AbortError(`${operation} aborted`, { operation }, reason !== undefined ? { cause: reason } : undefined);
}

/**
 * Throws {@link abortError} when `signal` is aborted: the checkpoint of every cancellable step.
 *
 * @example
 * throwIfAborted(job.signal, 'classify'); // nothing, or throws AbortError
 */
export function throwIfAborted(signal: AbortSignal | undefined, operation: string): void {
  if (signal?.aborted) throw abortError(signal, operation);
}

/**
 * Calls `fn` once when `signal` aborts (at once if it already has); returns the function
 * that stops listening.
 *
 * @example
 * const stop = onAbort(signal, () => remote.abort(callId));
 * try { await work; } finally { stop(); }
 */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    fn();
    return () => undefined;
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}

/**
 * Settles with `work`, or rejects with {@link abortError} as soon as `signal` aborts
 * (`work` itself goes on; pass the same signal into it to stop it too).
 *
 * @example
 * const model = await raceAbort(sharedLoad, callerSignal, 'load'); // this caller gives up; the shared load goes on
 */
export function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, operation: string): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const stop = onAbort(signal, () => reject(abortError(signal, operation)));
    work.then(
      (v) => {
        stop();
        resolve(v);
      },
      (e: unknown) => {
        stop();
        reject(e);
      },
    );
  });
}
