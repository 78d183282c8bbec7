/**
 * Outcomes of batched calls, and the one helper that settles their callers. Both batchers
 * (the main thread's `Coalescer`, the worker's `BatchQueue`) hand a batch of items to one
 * run that answers with one outcome per item, in order; `settle` gives each caller its own.
 */
import { WebInferError } from './errors/base.js';

/** How one item of a batch ended. Errors stay as they came (the main thread revives them). */
export type Outcome<R, E = unknown> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: E };

/** The promise callbacks of one waiting caller. */
export interface Waiter<R> {
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Settles each waiter with its own outcome (same order). A run that answered fewer outcomes
 * than waiters rejects the rest, so no caller is left hanging.
 *
 * @example
 * settle(waiters, [{ ok: true, value: 2 }, { ok: false, error: new Error('bad image') }], 'classify batch');
 */
export function settle<R>(waiters: readonly Waiter<R>[], outcomes: ReadonlyArray<Outcome<R> | undefined>, what: string): void {
  waiters.forEach((w, i) => {
    const o = outcomes[i];
    if (!o) w.reject(new WebInferError(`${what} answered ${outcomes.length} outcomes for ${waiters.length} calls`));
    else if (o.ok) w.resolve(o.value);
    else w.reject(o.error);
  });
}

/**
 * Runs `run` on a batch and settles every waiter: with its own outcome, or all with the
 * error when the run itself failed.
 *
 * @example
 * await runAndSettle(entries, () => model.classifyAll(entries.map((e) => e.item)), 'classify batch');
 */
export async function runAndSettle<R>(waiters: readonly Waiter<R>[], run: () => Promise<ReadonlyArray<Outcome<R> | undefined>>, what: string): Promise<void> {
  let outcomes: ReadonlyArray<Outcome<R> | undefined>;
  try {
    outcomes = await run();
  } catch (error) {
    waiters.forEach((w) => w.reject(error));
    return;
  }
  settle(waiters, outcomes, what);
}
