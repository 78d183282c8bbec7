/**
 * Builds `models/tiny-cnn/`: a tiny, seeded, RANDOM-weight tfjs layers model
 * (28×28×1 → Conv2D(4, 3×3, relu) → MaxPool 2×2 → Flatten → Dense(10, softmax))
 * plus its model card. A test fixture only: its predictions mean nothing.
 *
 * Deterministic: running it twice writes identical bytes.
 *
 *   npx tsx scripts/make-tiny-model.ts [out-dir]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(process.argv[2] ?? path.join(here, '..', 'models', 'tiny-cnn'));
const SHARD = 'group1-shard1of1.bin';

export const FASHION_MNIST_LABELS = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function build(): tf.LayersModel {
  const model = tf.sequential({ name: 'tiny_cnn' });
  model.add(
    tf.layers.conv2d({
      name: 'conv',
      inputShape: [28, 28, 1],
      filters: 4,
      kernelSize: 3,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 2 }),
    }),
  );
  model.add(tf.layers.maxPooling2d({ name: 'pool', poolSize: 2 }));
  model.add(tf.layers.flatten({ name: 'flatten' }));
  model.add(
    tf.layers.dense({
      name: 'dense',
      units: 10,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }),
      biasInitializer: tf.initializers.randomUniform({ minval: -0.05, maxval: 0.05, seed: 4 }),
    }),
  );
  return model;
}

function joinWeightData(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let off = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), off);
    off += p.byteLength;
  }
  return out;
}

async function main(): Promise<void> {
  await tf.setBackend('cpu');
  await tf.ready();
  const model = build();
  let modelJson = '';
  let weights: Uint8Array = new Uint8Array(0);
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      weights = joinWeightData(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
      modelJson = JSON.stringify({
        format: 'layers-model',
        generatedBy: artifacts.generatedBy ?? `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [SHARD], weights: artifacts.weightSpecs ?? [] }],
      });
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
  model.dispose();

  const card = {
    task: 'image-classification',
    description:
      'Tiny CNN with RANDOM weights (seeded, deterministic) for Fashion-MNIST-shaped input: a test fixture only, its predictions are meaningless.',
    labels: FASHION_MNIST_LABELS,
    preprocess: { width: 28, height: 28, channels: 1, scale: 1 / 255, mean: [0], std: [1], layout: 'nhwc' },
    output: 'probabilities',
    license: 'MIT',
    source: 'scripts/make-tiny-model.ts',
  };

  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'model.json'), `${modelJson}\n`);
  await writeFile(path.join(outDir, SHARD), weights);
  await writeFile(path.join(outDir, 'card.json'), `${JSON.stringify(card, null, 2)}\n`);
  process.stdout.write(`wrote ${outDir}: model.json, ${SHARD} (${weights.byteLength} bytes), card.json\n`);
}

await main();
