/** GPT-2 on webinfer's WebAssembly engine as a {@link Decoder}. */
import type { Gpt2Config } from '../gpt2/config.js';
import type { Engine } from '../engine/engine.js';
import { Gpt2Engine } from '../engine/gpt2.js';
import type { TensorSource } from '../engine/tensors.js';
import { nextTask } from '../queues/next-task.js';
import type { Decoder, DecoderSession } from './decoder.js';

/**
 * @example
 * const d = await engineGpt2(engine, config, indexSafetensors(chunks));
 * const s = d.session(prompt.length + maxTokens);
 * const logits = await s.step(prompt);
 */
export async function engineGpt2(engine: Engine, config: Gpt2Config, tensors: TensorSource, where = 'model.safetensors'): Promise<Decoder & { readonly model: Gpt2Engine }> {
  const model = await Gpt2Engine.load(engine, config, tensors, where);
  return {
    model,
    info: {
      contextLength: config.n_positions,
      vocabSize: config.vocab_size,
      bosTokenId: config.bos_token_id ?? null,
      runtime: `engine (${model.kind}, ${engine.threads} thread${engine.threads === 1 ? '' : 's'}, ${engine.variant})`,
      weightBytes: model.weightBytes,
    },
    session(capacity): DecoderSession {
      const state = model.newState(capacity);
      /**
       * A long prompt runs chunk by chunk, with one task hop between chunks: heartbeats and aborts
       * get through during a 1024-token prefill, and the worker never looks hung.
       */
      const run = async (ids: readonly number[], logits: boolean): Promise<Float32Array> => {
        let out: Float32Array = new Float32Array(0);
        for (let i = 0; i < ids.length; i += state.chunk) {
          if (i > 0) await nextTask();
          const last = i + state.chunk >= ids.length;
          out = model.forward(state, ids.slice(i, i + state.chunk), { logits: logits && last });
        }
        return out;
      };
      return {
        get length() {
          return state.length;
        },
        step: (ids) => run(ids, true),
        advance: async (ids) => void (await run(ids, false)),
        dispose: () => state.dispose(),
      };
    },
    async recompute(ids) {
      const state = model.newState(ids.length);
      try {
        return model.forward(state, ids);
      } finally {
        state.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}
