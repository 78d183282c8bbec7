/**
 * A loaded tfjs model (layers or graph format) behind one small interface: `run(input)`.
 * Tasks that run a tensor model (image classification, and the tasks after it) build on it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { loadGraphModel, type GraphModel } from '@tensorflow/tfjs-converter';
import { loadLayersModel, type LayersModel } from '@tensorflow/tfjs-layers';
import { ManifestError } from '../src/shared/errors/manifest.js';
import { fuseConvActivations } from './fuse-layers.js';
import { verifiedIOHandler } from './io-handler.js';
import type { LoadedFiles } from './loader.js';

export interface Runnable {
  /** Runs the model on one input batch; the caller owns (and disposes) the result. */
  run(input: tf.Tensor): Promise<tf.Tensor>;
  dispose(): void;
  /** The tfjs layers model behind it (`tfjs-layers` only), for a task that compiles it for the engine. */
  readonly layers?: LayersModel;
}

/** The first output of a model; any others are disposed. */
function firstOutput(y: tf.Tensor | tf.Tensor[], model: string): tf.Tensor {
  if (!Array.isArray(y)) return y;
  const [first, ...rest] = y;
  rest.forEach((t) => t.dispose());
  if (!first) throw new ManifestError('model produced no output', { url: model, issues: ['no output'] });
  return first;
}

/** Loads a `tfjs-layers` or `tfjs-graph` model from its verified files. */
export async function createRunnable(loaded: LoadedFiles): Promise<Runnable> {
  const { manifest } = loaded;
  const handler = verifiedIOHandler(loaded);
  switch (manifest.format) {
    case 'tfjs-layers': {
      const model: LayersModel = await loadLayersModel(handler);
      fuseConvActivations(model);
      return {
        run: async (x) => {
          return firstOutput(model.predict(x), manifest.id);
        },
        dispose: () => model.dispose(),
        layers: model,
      };
    }
    case 'tfjs-graph': {
      const model: GraphModel = await loadGraphModel(handler);
      const outputName = manifest.outputName;
      let needsAsync = false;
      return {
        run: async (x) => {
          let y: tf.Tensor | tf.Tensor[];
          if (!needsAsync) {
            try {
              y = outputName ? model.execute(x, outputName) : model.execute(x);
            } catch (e) {
              if (!(e instanceof Error) || !/executeAsync/.test(e.message)) throw e;
              needsAsync = true;
              y = outputName ? await model.executeAsync(x, outputName) : await model.executeAsync(x);
            }
          } else {
            y = outputName ? await model.executeAsync(x, outputName) : await model.executeAsync(x);
          }
          return firstOutput(y, manifest.id);
        },
        dispose: () => model.dispose(),
      };
    }
    default:
      throw new ManifestError(`format "${manifest.format}" cannot be run as a tfjs model`, { url: manifest.id, issues: [`unsupported format ${manifest.format}`] });
  }
}
