/** A tfjs IO handler over a committed layers model folder (model.json and its one weights file), for Node tests. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';

export function layersModelHandler(dir: string): tf.io.IOHandler {
  const json = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8'));
  const bin = readFileSync(path.join(dir, json.weightsManifest[0].paths[0]));
  return {
    load: async () => ({
      modelTopology: json.modelTopology,
      format: json.format,
      weightSpecs: json.weightsManifest[0].weights,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer,
    }),
  };
}
