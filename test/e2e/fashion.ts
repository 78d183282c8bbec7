/**
 * The Fashion-MNIST parity fixture (models/fashion-mnist-cnn/parity, written by train.py:
 * 500 test images with PyTorch's probabilities) and a helper classifying them in the page.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { REPO } from './server.js';

const dir = path.join(REPO, 'models/fashion-mnist-cnn/parity');
export const expected = JSON.parse(readFileSync(path.join(dir, 'expected.json'), 'utf8')) as {
  count: number;
  labels: number[];
  predictions: number[];
  probabilities: number[][];
  accuracy: number;
};
export const images = gunzipSync(readFileSync(path.join(dir, 'images.u8.gz')));

export interface Run {
  probs: number[][];
  dtype: string;
  backend: string;
  bytes: number;
}

/** Classifies every fixture image in the page; returns the 10 probabilities of each, by class index. */
export async function classifyAll(page: import('@playwright/test').Page, registry: string, backend: 'wasm' | 'webgpu', dtype: 'float32' | 'float16' | 'uint8', count = expected.count): Promise<Run> {
  return page.evaluate(
    async ({ registry, backend, dtype, b64, count }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const client = window.webinfer.createClient({ registry, backend, allowSoftwareWebGPU: true });
      const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification', dtype });
      const probs: number[][] = [];
      for (let i = 0; i < count; i++) {
        const data = bytes.slice(i * 784, (i + 1) * 784);
        const top = await model.classify({ data, width: 28, height: 28, channels: 1 }, { topK: 10 });
        const row = new Array<number>(10).fill(NaN);
        for (const p of top) row[p.index] = p.score;
        probs.push(row);
      }
      const info = { dtype: model.info.dtype, bytes: model.info.bytes, backend: (await client.ready()).name };
      await client.dispose();
      return { probs, ...info };
    },
    { registry, backend, dtype, b64: images.subarray(0, count * 784).toString('base64'), count },
  );
}

export const argmax = (row: number[]): number => row.reduce((best, v, i) => (v > (row[best] as number) ? i : best), 0);
/** Accuracy of the first `probs.length` fixture images. */
export const accuracy = (probs: number[][]): number => probs.filter((row, i) => argmax(row) === expected.labels[i]).length / probs.length;

