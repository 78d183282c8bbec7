/**
 * Reference outputs computed in Node with plain @tensorflow/tfjs (CPU backend),
 * independently of webinfer's worker code: the numbers the browser must match.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { REPO } from './server.js';

function fileHandler(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
      const specs: tf.io.WeightsManifestEntry[] = [];
      const parts: Buffer[] = [];
      for (const g of json.weightsManifest) {
        specs.push(...g.weights);
        for (const p of g.paths) parts.push(readFileSync(path.join(dir, p)));
      }
      const buf = Buffer.concat(parts);
      return { modelTopology: json.modelTopology, weightSpecs: specs, weightData: buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) };
    },
  };
}

/** The same deterministic picture as `util.pattern` in the test pages. */
export function pattern(width: number, height: number, channels: number, seed = 1): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v = channels === 4 && c === 3 ? 255 : (x * (7 + seed) + y * (13 + c * seed) + ((x * y) % (5 + seed)) * 17) % 256;
        data[(y * width + x) * channels + c] = v;
      }
    }
  }
  return data;
}

/** tiny-cnn's probabilities for a 28×28 picture given as gray (1 channel) or RGBA (4 channels). */
export async function tinyCnnReference(pixels: Uint8Array, channels: 1 | 4): Promise<number[]> {
  await tf.setBackend('cpu');
  const model = await tf.loadLayersModel(fileHandler(path.join(REPO, 'models/tiny-cnn')));
  const gray = new Float32Array(28 * 28);
  for (let i = 0; i < gray.length; i++) {
    gray[i] =
      channels === 1
        ? (pixels[i] as number) / 255
        : (0.299 * (pixels[i * 4] as number) + 0.587 * (pixels[i * 4 + 1] as number) + 0.114 * (pixels[i * 4 + 2] as number)) / 255;
  }
  const x = tf.tensor4d(gray, [1, 28, 28, 1]);
  const y = model.predict(x) as tf.Tensor;
  const out = Array.from(await y.data());
  x.dispose();
  y.dispose();
  model.dispose();
  return out;
}
