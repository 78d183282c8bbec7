/** Llama-family decoders as {@link Decoder}s: on webinfer's engine (WASM), or with tfjs ops (WebGPU, CPU). */
import * as tf from '@tensorflow/tfjs-core';
import type { SafeTensor } from '../gpt2/safetensors.js';
import type { Engine } from '../engine/engine.js';
import { LlamaEngine } from '../engine/llama.js';
import type { TensorSource } from '../engine/tensors.js';
import type { LlamaConfig } from '../llama/config.js';
import { LlamaKvCache, LlamaModel } from '../llama/model.js';
import type { Decoder, DecoderSession } from './decoder.js';
import { engineDecoder } from './engine-decoder.js';

/**
 * @example
 * const d = await engineLlama(engine, config, source);
 * const logits = await d.session(64).step([1, 450, 4996]);
 */
export async function engineLlama(engine: Engine, config: LlamaConfig, tensors: TensorSource, where = 'model.safetensors'): Promise<Decoder & { readonly model: LlamaEngine }> {
  const model = await LlamaEngine.load(engine, config, tensors, where);
  return engineDecoder(engine, model, { contextLength: config.positions, vocabSize: config.vocab, bosTokenId: config.bosTokenId });
}

async function read(t: tf.Tensor1D): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/** The same model on tfjs ops. */
export function tfjsLlama(config: LlamaConfig, tensors: ReadonlyMap<string, SafeTensor>, where = 'model.safetensors'): Decoder & { readonly model: LlamaModel } {
  const model = LlamaModel.fromTensors(config, tensors, where);
  let weightBytes = 0;
  for (const t of tensors.values()) weightBytes += t.data.byteLength;
  return {
    model,
    info: { contextLength: config.positions, vocabSize: config.vocab, bosTokenId: config.bosTokenId, runtime: `tfjs (${tf.getBackend()})`, weightBytes },
    session(): DecoderSession {
      const cache = new LlamaKvCache(config.layers);
      return {
        get length() {
          return cache.length;
        },
        step: (ids) => read(model.step(ids, cache)),
        dispose: () => cache.dispose(),
      };
    },
    recompute(ids) {
      const fresh = new LlamaKvCache(config.layers);
      try {
        return read(model.step(ids, fresh));
      } finally {
        fresh.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}
