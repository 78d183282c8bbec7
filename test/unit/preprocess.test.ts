/**
 * Pre-processing maths of image classification, on tfjs's CPU backend in Node,
 * checked against hand-computed values.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { check, ImagePreprocess } from '../../src/shared/registry/schema.js';
import { preprocess, preprocessStack, preprocessStackJs, preprocessStackOps, softmax, topPredictions } from '../../workers/tasks/image-classification.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const pp = (over: Record<string, unknown>): ImagePreprocess => {
  const r = check(ImagePreprocess, { width: 2, height: 2, channels: 1, ...over });
  if (!r.ok) throw new Error(r.issues.join('; '));
  return r.value;
};

describe('preprocess', () => {
  it('gray input, default scale 1/255: values divided by 255, shape [1, H, W, 1]', () => {
    const t = preprocess({ data: new Uint8Array([0, 51, 102, 255]), width: 2, height: 2, channels: 1 }, pp({}));
    expect(t.shape).toEqual([1, 2, 2, 1]);
    expect(Array.from(t.dataSync())).toEqual([0, 0.2, 0.4, 1].map((v) => expect.closeTo(v, 6)));
    t.dispose();
  });

  it('RGBA to grayscale uses the manifest weights and ignores alpha', () => {
    const data = new Uint8Array([255, 0, 0, 7, 0, 255, 0, 99, 0, 0, 255, 255, 10, 20, 30, 0]);
    const t = preprocess({ data, width: 2, height: 2, channels: 4 }, pp({ scale: 1, grayWeights: [0.299, 0.587, 0.114] }));
    const expected = [255 * 0.299, 255 * 0.587, 255 * 0.114, 10 * 0.299 + 20 * 0.587 + 30 * 0.114];
    Array.from(t.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 3));
    t.dispose();
  });

  it('per-channel mean/std on RGB, and NCHW layout', () => {
    // 1×2 image, RGB: pixel0 = (10, 20, 30), pixel1 = (40, 50, 60)
    const data = new Uint8Array([10, 20, 30, 40, 50, 60]);
    const p = pp({ width: 2, height: 1, channels: 3, scale: 1, mean: [10, 20, 30], std: [2, 4, 5], layout: 'nchw' });
    const t = preprocess({ data, width: 2, height: 1, channels: 3 }, p);
    expect(t.shape).toEqual([1, 3, 1, 2]);
    // channel-major: R(p0, p1), G(p0, p1), B(p0, p1)
    expect(Array.from(t.dataSync())).toEqual([0, 15, 0, 7.5, 0, 6]);
    t.dispose();
  });

  it('gray input to a 3-channel model is replicated; RGBA drops alpha', () => {
    const g = preprocess({ data: new Uint8Array([1, 2, 3, 4]), width: 2, height: 2, channels: 1 }, pp({ channels: 3, scale: 1 }));
    expect(Array.from(g.dataSync())).toEqual([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
    const rgba = preprocess({ data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]), width: 2, height: 2, channels: 4 }, pp({ channels: 3, scale: 1 }));
    expect(Array.from(rgba.dataSync())).toEqual([1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15]);
    g.dispose();
    rgba.dispose();
  });

  it('resizes with bilinear interpolation (a constant image stays constant; a 4×4 → 2×2 matches tf.image)', () => {
    const constant = preprocess({ data: new Uint8Array(16).fill(100), width: 4, height: 4, channels: 1 }, pp({ scale: 1 }));
    expect(constant.shape).toEqual([1, 2, 2, 1]);
    expect(Array.from(constant.dataSync())).toEqual([100, 100, 100, 100]);
    const ramp = Uint8Array.from({ length: 16 }, (_, i) => i * 10);
    const got = preprocess({ data: ramp, width: 4, height: 4, channels: 1 }, pp({ scale: 1 }));
    // align_corners=false, half_pixel_centers=false: output (i, j) samples input (2i, 2j).
    expect(Array.from(got.dataSync())).toEqual([0, 20, 80, 100]);
    constant.dispose();
    got.dispose();
  });

  it('Float32 pixels are in the same 0–255 units as bytes', () => {
    const a = preprocess({ data: new Float32Array([0, 127.5, 255, 51]), width: 2, height: 2, channels: 1 }, pp({}));
    expect(Array.from(a.dataSync())).toEqual([0, 0.5, 1, 0.2].map((v) => expect.closeTo(v, 6)));
    a.dispose();
  });

  it('leaks no tensors', () => {
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) preprocess({ data: new Uint8Array(64 * 4), width: 8, height: 8, channels: 4 }, pp({ channels: 3, mean: [1, 2, 3], std: [2, 2, 2] })).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('softmax and top-k', () => {
  it('softmax is stable for large logits and sums to 1', () => {
    const p = softmax([1000, 1001, 1002]);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p[2]! / p[1]!).toBeCloseTo(Math.E, 10);
  });

  it('topPredictions sorts best first, ties by index, caps at the label count', () => {
    const top = topPredictions([0.1, 0.4, 0.1, 0.4], ['a', 'b', 'c', 'd'], 10, 'probabilities');
    expect(top.map((p) => p.label)).toEqual(['b', 'd', 'a', 'c']);
    expect(top[0]).toEqual({ label: 'b', index: 1, score: 0.4 });
  });

  it('logits are turned into probabilities', () => {
    const top = topPredictions([0, Math.log(3)], ['x', 'y'], 1, 'logits');
    expect(top).toEqual([{ label: 'y', index: 1, score: expect.closeTo(0.75, 12) }]);
  });

  it('a label/output size mismatch is a ManifestError', () => {
    expect(() => topPredictions([0.5, 0.5], ['only-one'], 1, 'probabilities')).toThrowError(expect.objectContaining({ name: 'ManifestError' }));
  });
});

describe('preprocessStack (micro-batching)', () => {
  const rgba = (seed: number): Uint8Array => Uint8Array.from({ length: 6 * 5 * 4 }, (_, i) => (i * (7 + seed) + seed * 31) % 256);
  const cases: Record<string, ImagePreprocess> = {
    'gray, resize bilinear, mean/std': pp({ width: 3, height: 4, channels: 1, mean: [0.5], std: [0.25] }),
    'rgb, resize nearest, nchw, per-channel mean/std': pp({ width: 4, height: 3, channels: 3, resize: 'nearest', layout: 'nchw', mean: [1, 2, 3], std: [2, 3, 4] }),
  };
  for (const [name, p] of Object.entries(cases)) {
    it(`each row equals the image pre-processed alone, bit for bit: ${name}`, async () => {
      const images = [1, 2, 3].map((seed) => ({ data: rgba(seed), width: 6, height: 5, channels: 4 as const }));
      const stack = preprocessStack(images, p);
      expect(stack.shape[0]).toBe(3);
      const all = await stack.data();
      const size = all.length / 3;
      for (let i = 0; i < 3; i++) {
        const alone = preprocess(images[i]!, p);
        expect(Array.from(all.subarray(i * size, (i + 1) * size))).toEqual(Array.from(await alone.data()));
        alone.dispose();
      }
      stack.dispose();
    });
  }

  it('refuses images of different sizes (the caller groups them)', () => {
    const a = { data: new Uint8Array(4), width: 2, height: 2, channels: 1 as const };
    const b = { data: new Uint8Array(6), width: 3, height: 2, channels: 1 as const };
    expect(() => preprocessStack([a, b], pp({}))).toThrowError(expect.objectContaining({ name: 'ManifestError' }));
  });
});

describe('pre-processing in plain JavaScript (no resize, channels-last)', () => {
  const seeded = (n: number, seed: number, max: number): number[] => {
    let s = seed >>> 0;
    return Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * max);
  };
  it('gives the tfjs ops\' values (CPU backend) bit for bit, for every channel combination, scale, mean and std', () => {
    const cases: Array<{ inC: 1 | 3 | 4; over: Record<string, unknown>; float?: boolean }> = [
      { inC: 1, over: {} },
      { inC: 4, over: { grayWeights: [0.299, 0.587, 0.114] } },
      { inC: 3, over: { scale: 1, mean: [0.5], std: [0.25] } },
      { inC: 4, over: { channels: 3, scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } },
      { inC: 1, over: { channels: 3, scale: 2 / 255, mean: [1], std: [1] } },
      { inC: 3, over: { channels: 3 }, float: true },
    ];
    cases.forEach(({ inC, over, float }, k) => {
      const p = pp({ width: 5, height: 3, ...over });
      const stack = [0, 1, 2].map((i) => {
        const vals = seeded(5 * 3 * inC, 7 * k + i, float ? 1 : 256);
        return { data: float ? Float32Array.from(vals) : Uint8Array.from(vals, Math.floor), width: 5, height: 3, channels: inC };
      });
      const js = preprocessStackJs(stack, p);
      const ops = preprocessStackOps(stack, p);
      expect(js).toBeDefined();
      expect(Array.from(js!)).toEqual(Array.from(ops.dataSync()));
      ops.dispose();
    });
  });

  it('does not apply where a resize or channels-first layout is needed (the tfjs ops do it)', () => {
    const img = { data: new Uint8Array(16), width: 4, height: 4, channels: 1 as const };
    expect(preprocessStackJs([img], pp({}))).toBeUndefined();
    expect(preprocessStackJs([{ ...img, width: 2, height: 2, data: new Uint8Array(4) }], pp({ layout: 'nchw' }))).toBeUndefined();
  });
});
