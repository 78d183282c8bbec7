/**
 * Micro-batching logic without a browser: the main-thread coalescer (one message per
 * microtask window) and the worker's batch queue (calls waiting for a busy model run together).
 */
import { describe, expect, it } from 'vitest';
import { Coalescer, type Outcome } from '../../src/batching/coalesce.js';
import { BatchQueue } from '../../workers/queues/batch-queue.js';

const ok = <R>(value: R): Outcome<R> => ({ ok: true, value });
const task = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

describe('Coalescer (main thread)', () => {
  function recorder(maxBatch: number, cancelled?: (n: number) => unknown) {
    const sent: { key: string; items: number[] }[] = [];
    const c = new Coalescer<string, number, number>(
      async (key, items) => {
        sent.push({ key, items });
        return items.map((n) => (n < 0 ? { ok: false, error: new RangeError(`bad ${n}`) } : ok(n * 10)));
      },
      { maxBatch, ...(cancelled ? { cancelled } : {}) },
    );
    return { c, sent };
  }

  it('sends the calls of one tick as one message per key, each call getting its own result', async () => {
    const { c, sent } = recorder(64);
    const a = [1, 2, 3].map((n) => c.submit('a', n));
    const b = c.submit('b', 7);
    expect(sent).toEqual([]); // nothing leaves before the microtask
    expect(await Promise.all(a)).toEqual([10, 20, 30]);
    expect(await b).toBe(70);
    expect(sent).toEqual([
      { key: 'a', items: [1, 2, 3] },
      { key: 'b', items: [7] },
    ]);
    expect(c.sent).toBe(2);
  });

  it('chunks a large tick into messages of at most maxBatch', async () => {
    const { c, sent } = recorder(4);
    const res = await Promise.all(Array.from({ length: 10 }, (_, i) => c.submit('m', i)));
    expect(res).toEqual(Array.from({ length: 10 }, (_, i) => i * 10));
    expect(sent.map((s) => s.items)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]);
  });

  it('calls in different ticks go in different messages', async () => {
    const { c, sent } = recorder(64);
    await c.submit('m', 1);
    await task();
    await c.submit('m', 2);
    expect(sent.map((s) => s.items)).toEqual([[1], [2]]);
  });

  it('maxBatch 1 sends each call at once, synchronously, alone', () => {
    const { c, sent } = recorder(1);
    void c.submit('m', 1);
    void c.submit('m', 2);
    expect(sent.map((s) => s.items)).toEqual([[1], [2]]);
  });

  it('a failing item rejects only its own call', async () => {
    const { c } = recorder(64);
    const res = await Promise.allSettled([c.submit('m', 1), c.submit('m', -1), c.submit('m', 3)]);
    expect(res[0]).toEqual({ status: 'fulfilled', value: 10 });
    expect(res[1].status).toBe('rejected');
    expect((res[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    expect(res[2]).toEqual({ status: 'fulfilled', value: 30 });
  });

  it('a cancelled item is not sent and rejects with its reason', async () => {
    const gone = new Set([2]);
    const { c, sent } = recorder(64, (n) => (gone.has(n) ? new Error(`cancelled ${n}`) : undefined));
    const res = await Promise.allSettled([1, 2, 3].map((n) => c.submit('m', n)));
    expect(sent.map((s) => s.items)).toEqual([[1, 3]]);
    expect(res.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((res[1] as PromiseRejectedResult).reason)).toContain('cancelled 2');
  });

  it('a failed message rejects every call in it; a send that throws too', async () => {
    const c = new Coalescer<string, number, number>(() => Promise.reject(new TypeError('worker gone')), { maxBatch: 8 });
    const res = await Promise.allSettled([c.submit('m', 1), c.submit('m', 2)]);
    expect(res.every((r) => r.status === 'rejected' && r.reason instanceof TypeError)).toBe(true);
    const t = new Coalescer<string, number, number>(
      () => {
        throw new TypeError('sync');
      },
      { maxBatch: 8 },
    );
    await expect(t.submit('m', 1)).rejects.toThrow('sync');
  });

  it('an answer with too few outcomes rejects the calls left without one', async () => {
    const c = new Coalescer<string, number, number>(async () => [ok(1)], { maxBatch: 8 });
    const res = await Promise.allSettled([c.submit('m', 1), c.submit('m', 2)]);
    expect(res[0]).toEqual({ status: 'fulfilled', value: 1 });
    expect(res[1].status).toBe('rejected');
  });
});

describe('BatchQueue (worker)', () => {
  interface Job {
    n: number;
    cancelled?: boolean;
  }
  function queue(maxBatch: number, runMs = 0) {
    const runs: number[][] = [];
    const q = new BatchQueue<Job, number>(
      async (jobs) => {
        runs.push(jobs.map((j) => j.n));
        if (runMs > 0) await new Promise((r) => setTimeout(r, runMs));
        return jobs.map((j) => (j.n < 0 ? { ok: false, error: new RangeError(`bad ${j.n}`) } : ok(j.n + 100)));
      },
      { maxBatch, cancelled: (j) => (j.cancelled ? new Error(`aborted ${j.n}`) : undefined), yieldToEvents: task },
    );
    return { q, runs };
  }

  it('a lone item runs at once (synchronously, no timer) as a batch of one', async () => {
    const { q, runs } = queue(64);
    const p = q.push({ n: 1 });
    expect(runs).toEqual([[1]]);
    expect(await p).toBe(101);
  });

  it('the items of one message share a run; items pushed while it runs wait and form the next batch', async () => {
    const { q, runs } = queue(64, 5);
    const first = q.pushAll([1, 2, 3].map((n) => ({ n })));
    expect(runs).toEqual([[1, 2, 3]]);
    // The model is busy: these wait, then run together.
    const later = [4, 5, 6, 7].map((n) => q.push({ n }));
    expect(q.size).toBe(4);
    expect(await Promise.all([...first, ...later])).toEqual([101, 102, 103, 104, 105, 106, 107]);
    expect(runs).toEqual([
      [1, 2, 3],
      [4, 5, 6, 7],
    ]);
  });

  it('takes at most maxBatch per run, in arrival order', async () => {
    const { q, runs } = queue(3);
    await Promise.all(q.pushAll(Array.from({ length: 8 }, (_, n) => ({ n }))));
    expect(runs).toEqual([[0, 1, 2], [3, 4, 5], [6, 7]]);
  });

  it('a cancelled item is dropped before its run and rejects; the others run', async () => {
    const { q, runs } = queue(64, 5);
    const busy = q.push({ n: 0 });
    const waiting: Job[] = [{ n: 1 }, { n: 2 }, { n: 3 }];
    const ps = waiting.map((j) => q.push(j));
    (waiting[1] as Job).cancelled = true; // aborted while queued
    const res = await Promise.allSettled([busy, ...ps]);
    expect(runs).toEqual([[0], [1, 3]]);
    expect(res.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    expect(String((res[2] as PromiseRejectedResult).reason)).toContain('aborted 2');
  });

  it('a batch of only cancelled items runs nothing and the queue goes idle', async () => {
    const { q, runs } = queue(2);
    const res = await Promise.allSettled(q.pushAll([{ n: 1, cancelled: true }, { n: 2, cancelled: true }, { n: 3 }]));
    expect(res.map((r) => r.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
    expect(runs).toEqual([[3]]);
    expect(await q.push({ n: 4 })).toBe(104);
  });

  it('a failing item fails alone; a run that throws fails its batch only, and the queue goes on', async () => {
    let calls = 0;
    const q = new BatchQueue<number, number>(
      async (xs) => {
        if (calls++ === 1) throw new TypeError('model broke');
        return xs.map((x) => (x < 0 ? { ok: false, error: new RangeError('bad') } : ok(x)));
      },
      { maxBatch: 2, cancelled: () => undefined, yieldToEvents: task },
    );
    const res = await Promise.allSettled(q.pushAll([1, -1, 3, 4, 5]));
    expect(res.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).name))).toEqual([1, 'RangeError', 'TypeError', 'TypeError', 5]);
  });

  it('after a lone call (nothing waiting, sender had nothing else in flight) it goes idle without a hop', async () => {
    let hops = 0;
    const q = new BatchQueue<number, number>(async (xs) => xs.map(ok), {
      maxBatch: 8,
      cancelled: () => undefined,
      yieldToEvents: async () => {
        hops++;
      },
    });
    expect(await Promise.all(q.pushAll([1], false))).toEqual([1]);
    await task();
    expect(hops).toBe(0);
    expect(await Promise.all(q.pushAll([2], true))).toEqual([2]);
    await task();
    expect(hops).toBe(1);
  });

  it('yields to the event loop between runs, so work queued meanwhile gets in', async () => {
    const order: string[] = [];
    const q = new BatchQueue<number, number>(
      async (xs) => {
        order.push(`run ${xs.join(',')}`);
        return xs.map(ok);
      },
      { maxBatch: 1, cancelled: () => undefined, yieldToEvents: task },
    );
    const ps = q.pushAll([1, 2]);
    setTimeout(() => order.push('event'), 0);
    await Promise.all(ps);
    expect(order).toEqual(['run 1', 'event', 'run 2']);
  });
});
