/**
 * The shape every micro-batched operation shares (text classification, embeddings): each call is
 * checked and prepared on its own (a bad call fails alone), the prepared jobs wait in one
 * {@link BatchQueue} per model and run as one batch, and each caller gets its own outcome, signal
 * and all. `image-classification` has the same flow written out in its module.
 */
import { abortError, throwIfAborted } from '../../src/shared/abort.js';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import type { Outcome } from '../../src/shared/settle.js';
import type { OpName } from '../../src/shared/wire.js';
import { BatchQueue } from '../queues/batch-queue.js';
import type { OpCall, TaskEnv } from './task.js';

/** A prepared call: what `prepare` made of its input, and its signal. */
export interface Job<P> {
  readonly prepared: P;
  readonly signal: AbortSignal;
}

/**
 * Builds a batched operation.
 *
 * @example
 * const op = batchedOp(env, 'classify', (input) => encode(input.text), (jobs) => runModel(jobs));
 * await op(calls, { more: false }); // one outcome per call, in order
 */
export function batchedOp<K extends OpName, P, R>(
  env: TaskEnv,
  operation: string,
  prepare: (input: OpCall<K>['input']) => P | Promise<P>,
  run: (jobs: readonly Job<P>[]) => Promise<Outcome<R>[]>,
): (calls: readonly OpCall<K>[], ctx: { readonly more: boolean }) => Promise<Outcome<R>[]> {
  const runJobs = (jobs: readonly Job<P>[]): Promise<Outcome<R>[]> =>
    env.run(() => {
      const stats = env.stats;
      stats.batches++;
      stats.images += jobs.length;
      stats.largest = Math.max(stats.largest, jobs.length);
      stats.sizes[jobs.length] = (stats.sizes[jobs.length] ?? 0) + 1;
      return run(jobs);
    });
  const queue = env.maxBatch > 1 ? new BatchQueue<Job<P>, R>(runJobs, { maxBatch: env.maxBatch, cancelled: (job) => (job.signal.aborted ? abortError(job.signal, operation) : undefined) }) : undefined;
  const runAlone = async (job: Job<P>): Promise<R> => {
    const [outcome] = await runJobs([job]);
    if (!outcome) throw new ManifestError('the model run gave no outcome', { url: operation, issues: ['no outcome'] });
    if (!outcome.ok) throw outcome.error;
    return outcome.value;
  };
  return async (calls, ctx) => {
    env.stats.messages++;
    const prepared = await Promise.allSettled(
      calls.map(async (c): Promise<Job<P>> => {
        const p = await prepare(c.input);
        throwIfAborted(c.signal, operation);
        return { prepared: p, signal: c.signal };
      }),
    );
    const jobs = prepared.flatMap((d) => (d.status === 'fulfilled' ? [d.value] : []));
    const runs = queue ? queue.pushAll(jobs, ctx.more) : jobs.map(runAlone);
    let next = 0;
    return Promise.all(
      prepared.map(async (d, i): Promise<Outcome<R>> => {
        try {
          if (d.status === 'rejected') throw d.reason;
          const value = await (runs[next++] as Promise<R>);
          throwIfAborted((calls[i] as OpCall<K>).signal, operation);
          return { ok: true, value };
        } catch (error) {
          return { ok: false, error };
        }
      }),
    );
  };
}
