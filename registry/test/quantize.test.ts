/**
 * Quantized variants: float16 bit conversion, uint8 affine parameters, and the
 * written files loaded back by TensorFlow.js itself (which dequantizes them).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromFloat16Bits, quantizeModel, toFloat16Bits, uint8Params } from '../src/quantize.js';
import { publish } from '../src/publish.js';
import { RegistryStore } from '../src/store.js';
import { paths } from 'webinfer/protocol';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const tinyDir = path.join(repo, 'models/tiny-cnn');

function artifacts(json: { modelTopology: object; weightsManifest: Array<{ weights: tf.io.WeightsManifestEntry[] }> }, bin: Uint8Array): tf.io.IOHandler {
  const copy = bin.slice();
  return { load: async () => ({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData: copy.buffer }) };
}

describe('float16 conversion', () => {
  it('round-trips exactly representable values and rounds to nearest even', () => {
    for (const v of [0, 1, -2, 0.5, 65504, 2 ** -14, 2 ** -24, -0.0999755859375]) expect(fromFloat16Bits(toFloat16Bits(v))).toBe(v);
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(70000)).toBe(0x7c00); // overflow → Infinity
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // a tie rounds to even (down)
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // a tie rounds to even (up)
    expect(toFloat16Bits(2 ** -26)).toBe(0); // below half the smallest subnormal
    expect(Number.isNaN(fromFloat16Bits(toFloat16Bits(NaN)))).toBe(true);
  });
  it('has a relative error below 2^-11 on normal numbers', () => {
    for (let i = 0; i < 2000; i++) {
      const v = Math.fround((Math.sin(i * 12.9898) * 43758.5453) % 100);
      if (Math.abs(v) < 2 ** -14) continue;
      expect(Math.abs(fromFloat16Bits(toFloat16Bits(v)) - v) / Math.abs(v)).toBeLessThanOrEqual(2 ** -11);
    }
  });
});

describe('uint8 parameters', () => {
  it('cover the range and keep 0 exact', () => {
    const values = new Float32Array([-0.3, 0.1, 0.7, 0]);
    const { scale, min } = uint8Params(values);
    expect(scale).toBeCloseTo(1 / 255, 6);
    const zero = Math.round(-min / scale);
    expect(zero * scale + min).toBeCloseTo(0, 12);
    for (const v of values) expect(Math.abs(Math.round((v - min) / scale) * scale + min - v)).toBeLessThanOrEqual(scale / 2 + 1e-9);
  });
  it('handles a constant tensor', () => {
    expect(uint8Params(new Float32Array([0, 0, 0]))).toEqual({ scale: 1, min: 0 });
  });
});

describe('quantizeModel on tiny-cnn, loaded back by tfjs', () => {
  let json: Record<string, unknown> & { modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
  let bin: Uint8Array;
  let reference: Float32Array;
  const input = tf.tensor4d(Float32Array.from({ length: 4 * 784 }, (_, i) => ((i * 37) % 256) / 255), [4, 28, 28, 1]);

  beforeAll(async () => {
    await tf.setBackend('cpu');
    json = JSON.parse(await readFile(path.join(tinyDir, 'model.json'), 'utf8'));
    bin = new Uint8Array(await readFile(path.join(tinyDir, 'group1-shard1of1.bin')));
    const model = await tf.loadLayersModel(artifacts(json, bin));
    reference = (model.predict(input) as tf.Tensor).dataSync() as Float32Array;
    model.dispose();
  });

  for (const [dtype, bytesPer, tol] of [['float16', 2, 2e-3], ['uint8', 1, 2e-2]] as const) {
    it(`${dtype}: tfjs dequantizes it, weights within the quantization error, outputs close`, async () => {
      const q = quantizeModel(json, bin, dtype, 'model');
      expect(q.files.map((f) => f.path)).toEqual([`model.${dtype}.json`, `model.${dtype}.bin`]);
      const qjson = JSON.parse(new TextDecoder().decode(q.files[0]!.bytes));
      expect(qjson.weightsManifest[0].paths).toEqual([`model.${dtype}.bin`]);
      expect(qjson.weightsManifest[0].weights.every((w: { quantization?: { dtype: string } }) => w.quantization?.dtype === dtype)).toBe(true);
      expect(q.files[1]!.bytes.byteLength).toBe((bin.byteLength / 4) * bytesPer);
      const model = await tf.loadLayersModel(artifacts(qjson, q.files[1]!.bytes));
      // tfjs's own dequantized kernel vs ours
      const fv = new Float32Array(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength));
      const kernel = model.getWeights()[0]!.dataSync();
      let maxErr = 0;
      for (let i = 0; i < kernel.length; i++) maxErr = Math.max(maxErr, Math.abs((kernel[i] as number) - (fv[i] as number)));
      expect(maxErr).toBeLessThanOrEqual(q.maxError + 1e-7);
      expect(maxErr).toBeGreaterThan(0);
      const out = (model.predict(input) as tf.Tensor).dataSync();
      let d = 0;
      for (let i = 0; i < out.length; i++) d = Math.max(d, Math.abs((out[i] as number) - (reference[i] as number)));
      expect(d).toBeLessThan(tol);
      model.dispose();
    });
  }

  it('refuses weights that do not match the manifest', () => {
    expect(() => quantizeModel(json, bin.slice(0, bin.byteLength - 4), 'uint8', 'model')).toThrow(/weights end before|describes/);
  });
});

describe('publish --quantize', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'webinfer-quant-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('writes float16 and uint8 variants, each verified by hash in the blob store', async () => {
    const r = await publish({ modelDir: tinyDir, root, id: 'tiny-q', version: '1.0.0', card: path.join(tinyDir, 'card.json'), quantize: ['float16', 'uint8'] });
    const { float32, float16, uint8 } = r.manifest.variants;
    expect(float16?.entry).toBe('model.float16.json');
    expect(uint8?.entry).toBe('model.uint8.json');
    const size = (v: typeof float32 | undefined) => v!.files.filter((f) => f.path.endsWith('.bin')).reduce((s, f) => s + f.size, 0);
    expect(size(float16)).toBe(size(float32) / 2);
    expect(size(uint8)).toBe(size(float32) / 4);
    const store = new RegistryStore(root);
    for (const f of [...float16!.files, ...uint8!.files]) expect(await store.exists(paths.blob(f.sha256))).toBe(true);
  });

  it('refuses an unknown dtype and writes nothing', async () => {
    await expect(publish({ modelDir: tinyDir, root, id: 'tiny-q', version: '2.0.0', card: path.join(tinyDir, 'card.json'), quantize: ['int4'] })).rejects.toThrow(/cannot quantize a tfjs-layers model to "int4"/);
    await expect(publish({ modelDir: tinyDir, root, id: 'tiny-q', version: '2.0.0', card: path.join(tinyDir, 'card.json'), quantize: ['int2' as 'int4'] })).rejects.toThrow(/cannot quantize .*"int2"/);
    expect(await new RegistryStore(root).readManifest('tiny-q', '2.0.0')).toBeUndefined();
  });
});

describe('webinfer-registry publish --quantize', () => {
  it('writes the variants and reports their sizes; an unknown dtype is a one-line error', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'webinfer-quant-cli-'));
    const run = promisify(execFile);
    const cli = async (...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
      try {
        const { stdout, stderr } = await run('npx', ['tsx', 'registry/src/cli.ts', ...args], { cwd: repo, encoding: 'utf8' });
        return { code: 0, stdout, stderr };
      } catch (e) {
        const x = e as { code: number; stdout: string; stderr: string };
        return { code: x.code, stdout: x.stdout, stderr: x.stderr };
      }
    };
    try {
      const base = ['publish', 'models/tiny-cnn', '--root', root, '--id', 'tiny-cnn', '--card', 'models/tiny-cnn/card.json'];
      const ok = await cli(...base, '--version', '1.0.0', '--quantize', 'float16,uint8');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toMatch(/^published tiny-cnn@1\.0\.0 \(image-classification, tfjs-layers, 2 files, 29087 bytes\); variants: float16 \d+ bytes, uint8 \d+ bytes; aliases: latest\n$/);
      const m = (await new RegistryStore(root).readManifest('tiny-cnn', '1.0.0'))!;
      expect(Object.keys(m.variants).sort()).toEqual(['float16', 'float32', 'uint8']);
      const bad = await cli(...base, '--version', '2.0.0', '--quantize', 'int4');
      expect(bad.code).toBe(1);
      expect(bad.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('npm warn'))).toEqual(['webinfer-registry: error: cannot quantize a tfjs-layers model to "int4" (supported: float16, uint8; int8 and int4 are for text models)']);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }, 120_000);
});
