/**
 * The main-thread half of a micro-batched operation, for handles whose calls are one item each
 * (text classification, embeddings): coalesced calls cross as one message, `more` tells the worker
 * that other messages for this model are in flight, and handed-over buffers that two calls of one
 * message share make the second call fail alone. `Classifier` has the same flow written out.
 */
import * as Comlink from 'comlink';
import { Coalescer, type Outcome } from '../batching/coalesce.js';
import { abortError } from '../shared/abort.js';
import { InvalidInputError } from '../shared/errors/invalid-input.js';
import type { CallItem, OpName, Ops, WorkerApi } from '../shared/wire.js';
import { callOp } from '../worker-host.js';

/** One call on its way to the worker. */
export interface PendingCall<K extends OpName> {
  readonly item: CallItem<K>;
  readonly transfer: Transferable[];
  readonly signal: AbortSignal | undefined;
}

/**
 * A coalescer of calls of operation `op` on one model.
 *
 * @example
 * const sender = batchedSender('text-classification.classify', 'classify', () => this.handle, ctx.maxBatch);
 * await sender.submit(remote, { item: { callId, input: { text, topK } }, transfer: [], signal });
 */
export function batchedSender<K extends OpName>(op: K, operation: string, handle: () => number, maxBatch: number): Coalescer<Comlink.Remote<WorkerApi>, PendingCall<K>, Ops[K]['output']> {
  /** Messages sent to a worker and not answered yet (per worker: a crashed one's never count in its successor). */
  const inFlight = new WeakMap<Comlink.Remote<WorkerApi>, number>();
  const send = async (remote: Comlink.Remote<WorkerApi>, pending: PendingCall<K>[]): Promise<(Outcome<Ops[K]['output']> | undefined)[]> => {
    const outcomes: (Outcome<Ops[K]['output']> | undefined)[] = new Array(pending.length);
    const seen = new Set<Transferable>();
    const sent = pending.filter((p, i) => {
      if (p.transfer.some((t) => seen.has(t))) {
        outcomes[i] = { ok: false, error: new InvalidInputError('the same buffer or ImageBitmap was handed over (transfer: true) by two concurrent calls', { reason: 'duplicate-transfer', field: 'image' }) };
        return false;
      }
      p.transfer.forEach((t) => seen.add(t));
      return true;
    });
    if (sent.length > 0) {
      const n = inFlight.get(remote) ?? 0;
      inFlight.set(remote, n + 1);
      const res = await callOp(remote, Comlink.transfer({ op, handle: handle(), items: sent.map((p) => p.item), more: n > 0 }, [...seen])).finally(() => inFlight.set(remote, (inFlight.get(remote) ?? 1) - 1));
      let next = 0;
      for (let i = 0; i < pending.length; i++) {
        if (outcomes[i]) continue;
        const o = res.outcomes[next++];
        if (o) outcomes[i] = o;
      }
    }
    // A hole (an answer short of outcomes) is rejected by the Coalescer.
    return outcomes;
  };
  return new Coalescer(send, { maxBatch, cancelled: (p) => (p.signal?.aborted ? abortError(p.signal, operation) : undefined) });
}
