/** GPT-2 on webinfer's WebAssembly engine as a {@link Decoder}. */
import type { Gpt2Config } from '../gpt2/config.js';
import type { Engine } from '../engine/engine.js';
import { Gpt2Engine } from '../engine/gpt2.js';
import type { TensorSource } from '../engine/tensors.js';
import type { Decoder } from './decoder.js';
import { engineDecoder } from './engine-decoder.js';

/**
 * @example
 * const d = await engineGpt2(engine, config, indexSafetensors(chunks));
 * const s = d.session(prompt.length + maxTokens);
 * const logits = await s.step(prompt);
 */
export async function engineGpt2(engine: Engine, config: Gpt2Config, tensors: TensorSource, where = 'model.safetensors'): Promise<Decoder & { readonly model: Gpt2Engine }> {
  const model = await Gpt2Engine.load(engine, config, tensors, where);
  return engineDecoder(engine, model, { contextLength: config.n_positions, vocabSize: config.vocab_size, bosTokenId: config.bos_token_id ?? null });
}
