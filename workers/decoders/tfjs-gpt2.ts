/** GPT-2 on tfjs ops (WebGPU, CPU; and WASM when the engine is not used) as a {@link Decoder}. */
import type { Gpt2Config } from '../gpt2/config.js';
import { Gpt2Model, KvCache } from '../gpt2/model.js';
import type { SafeTensor } from '../gpt2/safetensors.js';
import type { Decoder, DecoderSession } from './decoder.js';
import * as tf from '@tensorflow/tfjs-core';

async function read(t: tf.Tensor1D): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/**
 * @example
 * const d = tfjsGpt2(config, readSafetensors(bytes));
 * const s = d.session(64);
 * const logits = await s.step([464, 3290]); // Float32Array(vocab_size)
 */
export function tfjsGpt2(config: Gpt2Config, tensors: ReadonlyMap<string, SafeTensor>, where = 'model.safetensors'): Decoder & { readonly model: Gpt2Model } {
  const model = Gpt2Model.fromTensors(config, tensors, where);
  let weightBytes = 0;
  for (const t of tensors.values()) weightBytes += t.data.byteLength;
  return {
    model,
    info: { contextLength: config.n_positions, vocabSize: config.vocab_size, bosTokenId: config.bos_token_id ?? null, runtime: `tfjs (${tf.getBackend()})`, weightBytes },
    session(): DecoderSession {
      const cache = new KvCache(config.n_layer);
      return {
        get length() {
          return cache.length;
        },
        step: (ids) => read(model.step(ids, cache)),
        dispose: () => cache.dispose(),
      };
    },
    recompute(ids) {
      const fresh = new KvCache(config.n_layer);
      try {
        return read(model.step(ids, fresh));
      } finally {
        fresh.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}
