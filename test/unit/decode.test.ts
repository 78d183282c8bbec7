/**
 * Bounded pre-processing of huge images (issue 15, item 2): raw pixels above REDUCE_ABOVE_PIXELS are reduced by an
 * area average in slices that yield to the event loop, so a 64-megapixel image never holds the worker.
 */
import { describe, expect, it } from 'vitest';
import { decodeImage, reducedSize, reducePixels, REDUCE_ABOVE_PIXELS } from '../../workers/decode.js';

describe('reducedSize', () => {
  it('leaves images up to the threshold alone, reduces larger ones to twice the target per side', () => {
    expect(reducedSize(2048, 2048, { width: 224, height: 224 })).toBeUndefined();
    expect(reducedSize(8192, 8192, { width: 224, height: 224 })).toEqual({ width: 448, height: 448 });
    expect(reducedSize(16384, 100, { width: 28, height: 28 })).toBeUndefined(); // 1.6 MP
    expect(reducedSize(16384, 4096, { width: 28, height: 28 })).toEqual({ width: 56, height: 56 });
    expect(reducedSize(8192, 8192, undefined)).toBeUndefined();
    expect(REDUCE_ABOVE_PIXELS).toBe(2048 * 2048);
  });
});

describe('reducePixels', () => {
  it('is an exact area average', async () => {
    // 4×2, one channel: left 2×2 block averages to 2.5, right one to 6.5.
    const p = { data: new Uint8Array([1, 2, 5, 6, 3, 4, 7, 8]), width: 4, height: 2, channels: 1 as const };
    const r = await reducePixels(p, { width: 2, height: 1 });
    expect(Array.from(r.data)).toEqual([2.5, 6.5]);
    expect([r.width, r.height, r.channels]).toEqual([2, 1, 1]);
  });

  it('keeps channels apart', async () => {
    const p = { data: new Uint8Array([10, 20, 30, 40, 30, 40, 50, 60]), width: 2, height: 1, channels: 4 as const };
    expect(Array.from((await reducePixels(p, { width: 1, height: 1 })).data)).toEqual([20, 30, 40, 50]);
  });

  it('a 64-megapixel RGBA image is reduced without holding the event loop for more than a few tens of ms', async () => {
    const w = 8192;
    const data = new Uint8Array(w * w * 4);
    for (let i = 0; i < data.length; i += 4) data[i] = 200; // red everywhere
    const gaps: number[] = [];
    let last = performance.now();
    const pause = async (): Promise<void> => {
      const now = performance.now();
      gaps.push(now - last);
      await new Promise((r) => setTimeout(r, 0));
      last = performance.now();
    };
    const r = await reducePixels({ data, width: w, height: w, channels: 4 }, { width: 448, height: 448 }, pause);
    gaps.push(performance.now() - last);
    expect([r.width, r.height]).toEqual([448, 448]);
    expect(r.data[0]).toBe(200);
    expect(r.data[1]).toBe(0);
    expect(gaps.length).toBeGreaterThan(10);
    expect(Math.max(...gaps)).toBeLessThan(100);
  }, 60_000);

  it('decodeImage reduces large raw pixels towards the model size, leaves small ones as they are', async () => {
    const small = { kind: 'pixels' as const, data: new Uint8Array(28 * 28), width: 28, height: 28, channels: 1 as const };
    expect(await decodeImage(small, { width: 28, height: 28 })).toBe(small);
    const big = { kind: 'pixels' as const, data: new Uint8Array(4096 * 4096).fill(7), width: 4096, height: 4096, channels: 1 as const };
    const r = await decodeImage(big, { width: 28, height: 28 });
    expect([r.width, r.height]).toEqual([56, 56]);
    expect(r.data.every((v) => v === 7)).toBe(true);
  });
});
