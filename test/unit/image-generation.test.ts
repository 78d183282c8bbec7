/**
 * The image-generation task's pure parts: the seeded latent sampler, the argument checks, latent
 * interpolation, raw outputs → RGBA pictures, the encoder's pre-processing, the manifest's generator
 * section and its consistency rules — and the trained generators' tfjs exports run on tfjs's CPU backend
 * in Node against PyTorch's outputs (the parity fixtures).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { checkCount, checkLatent, checkSeed, checkSteps, interpolateLatents, sampleLatents } from '../../src/shared/latents.js';
import { check, Manifest, manifestProblems } from '../../src/shared/registry/schema.js';
import { encoderPreprocess, toImages } from '../../workers/tasks/image-generation.js';

const REPO = path.resolve(import.meta.dirname, '../..');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('sampleLatents (mulberry32-box-muller)', () => {
  it('is deterministic, seed-dependent, and vector k does not depend on count', () => {
    const a = sampleLatents(7, 4, 16);
    expect(a).toHaveLength(4);
    expect(a[0]).toHaveLength(16);
    expect(sampleLatents(7, 4, 16)).toEqual(a);
    expect(sampleLatents(7, 1, 16)[0]).toEqual(a[0]);
    expect(sampleLatents(8, 1, 16)[0]).not.toEqual(a[0]);
    // Odd total length: the last value is the cosine half of a pair.
    expect(sampleLatents(3, 1, 5)[0]).toHaveLength(5);
  });
  it('draws standard normals: mean ≈ 0, variance ≈ 1, about 68 % within one σ', () => {
    const all = sampleLatents(12345, 1, 200_000)[0]!;
    let sum = 0;
    let sq = 0;
    let within = 0;
    for (const x of all) {
      sum += x;
      sq += x * x;
      if (Math.abs(x) < 1) within++;
    }
    const mean = sum / all.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
    expect(Math.abs(sq / all.length - mean * mean - 1)).toBeLessThan(0.02);
    expect(within / all.length).toBeCloseTo(0.6827, 2);
    expect(all.every(Number.isFinite)).toBe(true);
  });
});

describe('argument checks', () => {
  const reason = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidInputError);
      return (e as InvalidInputError).reason;
    }
    return undefined;
  };
  it('count: an integer in 1..64, default 1', () => {
    expect(checkCount(undefined)).toBe(1);
    expect(checkCount(64)).toBe(64);
    for (const bad of [0, 65, 1.5, '2', NaN]) expect(reason(() => checkCount(bad))).toBe('bad-count');
  });
  it('seed: an integer in 0..2^32-1, random when missing', () => {
    expect(checkSeed(0)).toBe(0);
    expect(checkSeed(0xffffffff)).toBe(0xffffffff);
    expect(Number.isInteger(checkSeed(undefined))).toBe(true);
    for (const bad of [-1, 0.5, 2 ** 32, '1', null]) expect(reason(() => checkSeed(bad))).toBe('bad-seed');
  });
  it('latent: the model size, finite numbers; copied to a Float32Array', () => {
    expect(checkLatent([1, 2, 3], 3, 'z')).toEqual(new Float32Array([1, 2, 3]));
    expect(reason(() => checkLatent([1, 2], 3, 'z'))).toBe('bad-latent-size');
    expect(reason(() => checkLatent([1, NaN, 2], 3, 'z'))).toBe('not-finite');
    expect(reason(() => checkLatent('abc', 3, 'z'))).toBe('bad-latent-type');
  });
  it('steps: an integer in 2..256', () => {
    expect(checkSteps(2)).toBe(2);
    for (const bad of [1, 257, 2.5]) expect(reason(() => checkSteps(bad))).toBe('bad-steps');
  });
});

describe('interpolateLatents', () => {
  const a = new Float32Array([1, 0]);
  const b = new Float32Array([0, 1]);
  it('linear: both ends included, evenly spaced', () => {
    const p = interpolateLatents(a, b, 3, 'linear');
    expect(p.map((z) => Array.from(z))).toEqual([[1, 0], [0.5, 0.5], [0, 1]]);
  });
  it('slerp: both ends included, and the norm stays 1 between two unit vectors', () => {
    const p = interpolateLatents(a, b, 5, 'slerp');
    expect(Array.from(p[0]!)).toEqual([1, 0]);
    expect(p[4]![0]).toBeCloseTo(0, 6);
    expect(p[4]![1]).toBeCloseTo(1, 6);
    for (const z of p) expect(Math.hypot(z[0]!, z[1]!)).toBeCloseTo(1, 6);
    expect(p[2]![0]).toBeCloseTo(Math.SQRT1_2, 6);
  });
  it('slerp of parallel vectors falls back to linear', () => {
    const p = interpolateLatents(a, new Float32Array([2, 0]), 3, 'slerp');
    expect(Array.from(p[1]!)).toEqual([1.5, 0]);
  });
});

describe('toImages and the encoder pre-processing', () => {
  it('maps the output range to 0–255 (rounded, clamped), gray as R = G = B, alpha 255', () => {
    const [img] = toImages([new Float32Array([-1, 0, 1, 3])], { width: 2, height: 2, channels: 1, outputRange: [-1, 1] });
    expect(img!.width).toBe(2);
    expect(Array.from(img!.data)).toEqual([0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 255, 255, 255, 255]);
    const [rgb] = toImages([new Float32Array([0, 0.5, 1])], { width: 1, height: 1, channels: 3, outputRange: [0, 1] });
    expect(Array.from(rgb!.data)).toEqual([0, 128, 255, 255]);
  });
  it('maps 0–255 to the encoder range', () => {
    const g = { kind: 'vae', latentDim: 2, width: 4, height: 4, channels: 1, outputRange: [0, 1], sampler: 'mulberry32-box-muller', encoderRange: [-1, 1] } as const;
    const p = encoderPreprocess({ ...g, outputRange: [0, 1], encoderRange: [-1, 1] });
    expect(255 * p.scale - (p.mean[0] as number)).toBeCloseTo(1, 6);
    expect(0 * p.scale - (p.mean[0] as number)).toBeCloseTo(-1, 6);
  });
});

describe('manifest generator section', () => {
  const base = {
    schema: 'webinfer.manifest/v1',
    id: 'fashion-vae',
    version: '1.0.0',
    task: 'image-generation',
    format: 'tfjs-layers',
    createdAt: '2025-01-01T00:00:00.000Z',
    variants: { float32: { entry: 'decoder.json', files: [{ path: 'decoder.json', size: 1, sha256: 'a'.repeat(64) }, { path: 'encoder.json', size: 1, sha256: 'b'.repeat(64) }] } },
  };
  const problems = (over: Record<string, unknown>): string[] => {
    const r = check(Manifest, { ...base, ...over });
    if (!r.ok) return r.issues;
    return manifestProblems(r.value);
  };
  const vae = { kind: 'vae', latentDim: 16, width: 28, height: 28, channels: 1, outputRange: [0, 1], encoder: 'encoder.json' };
  it('a VAE with its encoder among the files is valid; the sampler defaults', () => {
    expect(problems({ generator: vae })).toEqual([]);
    const r = check(Manifest, { ...base, generator: vae });
    expect(r.ok && r.value.generator?.sampler).toBe('mulberry32-box-muller');
  });
  it('refuses a missing section, a VAE without an encoder, an encoder not in the files, an empty range', () => {
    expect(problems({})).toEqual(['generator: required for image-generation']);
    expect(problems({ generator: { ...vae, encoder: undefined } })).toEqual(['generator.encoder: required for kind vae']);
    expect(problems({ generator: { ...vae, encoder: 'other.json' } })).toEqual(['variants.float32.files: the encoder other.json is not one of them']);
    expect(problems({ generator: { ...vae, outputRange: [1, 1] } })).toEqual(['generator.outputRange: needs [min, max] with min < max']);
    expect(problems({ generator: { ...vae, kind: 'diffusion' } }).length).toBeGreaterThan(0);
  });
});

/** Loads a committed tfjs layers model from disk (no network: the bytes are handed over). */
async function loadFromDisk(dir: string, stem: string) {
  const json = JSON.parse(readFileSync(path.join(dir, `${stem}.json`), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const bin = readFileSync(path.join(dir, `${stem}.bin`));
  return loadLayersModel({
    load: async () => ({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]!.weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) }),
  });
}

describe('the trained generators against PyTorch (tfjs CPU backend, Node)', () => {
  for (const [id, stem] of [['fashion-vae', 'decoder'], ['fashion-dcgan', 'generator']] as const) {
    it(`${id}: ${stem} outputs within 1e-4 of PyTorch's on the parity latents`, async () => {
      const dir = path.join(REPO, 'models', id);
      const fx = JSON.parse(readFileSync(path.join(dir, 'parity/expected.json'), 'utf8')) as { latents: number[][]; decoded: number[][]; images?: number[][]; encoded?: number[][] };
      const model = await loadFromDisk(dir, stem);
      const y = model.predict(tf.tensor2d(fx.latents)) as tf.Tensor;
      expect(y.shape).toEqual([fx.latents.length, 28, 28, 1]);
      const out = (await y.array()) as number[][][][];
      let max = 0;
      out.forEach((img, i) => img.flat(2).forEach((v, j) => (max = Math.max(max, Math.abs(v - fx.decoded[i]![j]!)))));
      expect(max).toBeLessThan(1e-4);
      if (fx.images && fx.encoded) {
        const enc = await loadFromDisk(dir, 'encoder');
        const x = tf.tensor4d(fx.images.flat().map((v) => v / 255), [fx.images.length, 28, 28, 1]);
        const z = (await (enc.predict(x) as tf.Tensor).array()) as number[][];
        let maxZ = 0;
        z.forEach((row, i) => row.forEach((v, j) => (maxZ = Math.max(maxZ, Math.abs(v - fx.encoded![i]![j]!)))));
        expect(maxZ).toBeLessThan(1e-4);
        enc.dispose();
      }
      model.dispose();
    });
  }
});
