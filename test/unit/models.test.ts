/**
 * The committed model fixtures: they load in TensorFlow.js (pure JS CPU backend),
 * their outputs match their cards, and tiny-cnn is exactly what its script makes.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const run = promisify(execFile);

interface ModelJson {
  format?: string;
  modelTopology: object;
  weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  userDefinedMetadata?: Record<string, object>;
}

/** An IOHandler that reads a tfjs model JSON and its shards from disk. */
function fileHandler(dir: string, entry: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await readFile(path.join(dir, entry), 'utf8')) as ModelJson;
      const shards = await Promise.all(json.weightsManifest.flatMap((g) => g.paths.map((p) => readFile(path.join(dir, p)))));
      const all = Buffer.concat(shards);
      return {
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        ...(json.format !== undefined ? { format: json.format } : {}),
        ...(json.userDefinedMetadata !== undefined ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
      };
    },
  };
}

const card = async (model: string): Promise<Record<string, unknown>> =>
  JSON.parse(await readFile(path.join(repo, 'models', model, 'card.json'), 'utf8')) as Record<string, unknown>;

beforeAll(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

describe('models/tiny-cnn', () => {
  it('loads as a layers model with the documented shapes and outputs probabilities', async () => {
    const model = await tf.loadLayersModel(fileHandler(path.join(repo, 'models/tiny-cnn'), 'model.json'));
    expect(model.inputs[0]!.shape).toEqual([null, 28, 28, 1]);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    expect(model.layers.map((l) => l.getClassName())).toEqual(['Conv2D', 'MaxPooling2D', 'Flatten', 'Dense']);
    const c = await card('tiny-cnn');
    expect(c.labels).toEqual(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
    expect(c.output).toBe('probabilities');
    const y = model.predict(tf.randomUniform([3, 28, 28, 1], 0, 1, 'float32', 42)) as tf.Tensor;
    const sums = Array.from(await y.sum(1).data());
    for (const s of sums) expect(s).toBeCloseTo(1, 5);
    model.dispose();
  });

  it('is what scripts/make-tiny-model.ts makes, byte for byte (deterministic)', async () => {
    const out = await mkdtemp(path.join(tmpdir(), 'webinfer-tiny-'));
    try {
      await run('npx', ['tsx', 'scripts/make-tiny-model.ts', out], { cwd: repo });
      for (const f of ['model.json', 'group1-shard1of1.bin', 'card.json']) {
        const made = await readFile(path.join(out, f));
        const committed = await readFile(path.join(repo, 'models/tiny-cnn', f));
        expect(made.equals(committed), f).toBe(true);
      }
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('models/emotion', () => {
  it('loads as a graph model; its outputs are probabilities over the 7 card labels', async () => {
    const model = await tf.loadGraphModel(fileHandler(path.join(repo, 'models/emotion'), 'emotion.json'));
    expect(model.inputNodes).toEqual(['input_1:0']);
    expect(model.inputs[0]!.shape).toEqual([-1, 64, 64, 1]);
    const c = await card('emotion');
    expect(model.outputNodes).toEqual([c.outputName]);
    expect(c.labels).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    expect(c.output).toBe('probabilities');
    // Inputs in the range the card's preprocess produces: (gray - 0.5) / 0.5 ∈ [-1, 1].
    const x = tf.randomUniform([4, 64, 64, 1], -1, 1, 'float32', 7);
    const y = model.execute(x, c.outputName as string) as tf.Tensor;
    expect(y.shape).toEqual([4, 7]);
    const values = Array.from(await y.data());
    for (const v of values) expect(v).toBeGreaterThanOrEqual(0);
    for (const s of Array.from(await y.sum(1).data())) expect(s).toBeCloseTo(1, 5);
    model.dispose();
  });
});
