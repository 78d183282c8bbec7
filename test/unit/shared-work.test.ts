/** SharedWork: one piece of work, several callers, each with its own signal (the client's shared loads). */
import { describe, expect, it } from 'vitest';
import { AbortError } from '../../src/shared/errors/abort.js';
import { SharedWork } from '../../src/shared/shared-work.js';

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('SharedWork', () => {
  it("a caller's abort rejects that caller alone; the others get the result of the one shared run", async () => {
    const work = new SharedWork<string, number>();
    const d = deferred<number>();
    let starts = 0;
    let workSignal: AbortSignal | undefined;
    const start = (signal: AbortSignal): Promise<number> => {
      starts++;
      workSignal = signal;
      return d.promise;
    };
    const first = new AbortController();
    const a = work.join('m', start, first.signal, 'load');
    const b = work.join('m', start, undefined, 'load');
    first.abort('gone');
    await expect(a).rejects.toBeInstanceOf(AbortError);
    expect(workSignal?.aborted).toBe(false);
    d.resolve(42);
    await expect(b).resolves.toBe(42);
    await expect(work.join('m', start, undefined, 'load')).resolves.toBe(42); // kept
    expect(starts).toBe(1);
  });

  it('the work is aborted when every caller waiting for it has given up, and the next join starts it anew', async () => {
    const work = new SharedWork<string, number>();
    const signals: AbortSignal[] = [];
    const start = (signal: AbortSignal): Promise<number> =>
      new Promise((resolve, reject) => {
        signals.push(signal);
        signal.addEventListener('abort', () => reject(new Error('stopped')));
        if (signals.length > 1) resolve(7);
      });
    const c1 = new AbortController();
    const c2 = new AbortController();
    const p1 = work.join('m', start, c1.signal, 'load');
    const p2 = work.join('m', start, c2.signal, 'load');
    c1.abort();
    expect(signals[0]?.aborted).toBe(false); // one caller still waits
    c2.abort();
    await expect(p1).rejects.toMatchObject({ name: 'AbortError', operation: 'load' });
    await expect(p2).rejects.toMatchObject({ name: 'AbortError' });
    expect(signals[0]?.aborted).toBe(true);
    await expect(work.join('m', start, undefined, 'load')).resolves.toBe(7);
    expect(signals).toHaveLength(2);
  });

  it('a failed run is forgotten: the next join retries', async () => {
    const work = new SharedWork<string, number>();
    let n = 0;
    const start = async (): Promise<number> => {
      if (n++ === 0) throw new Error('registry down');
      return 1;
    };
    await expect(work.join('m', start, undefined, 'load')).rejects.toThrow('registry down');
    await expect(work.join('m', start, undefined, 'load')).resolves.toBe(1);
  });
});
