/** The {@link Decoder} shape shared by every decoder on webinfer's WebAssembly engine (GPT-2, Llama family). */
import type { Engine } from '../engine/engine.js';
import { nextTask } from '../queues/next-task.js';
import type { Decoder, DecoderInfo, DecoderSession } from './decoder.js';

/** What an engine model offers: a KV-cache state that takes prompts in chunks, and a forward pass. */
export interface EngineModel<S extends { readonly chunk: number; readonly length: number; dispose(): void }> {
  readonly kind: string;
  readonly weightBytes: number;
  newState(capacity: number): S;
  forward(state: S, ids: readonly number[], options?: { logits?: boolean }): Float32Array;
  dispose(): void;
}

/**
 * Wraps an engine model as a decoder. A long prompt runs chunk by chunk, with one task hop between
 * chunks: heartbeats and aborts get through during a 1024-token prefill, and the worker never looks hung.
 *
 * @example
 * const d = engineDecoder(engine, await Gpt2Engine.load(engine, config, tensors), { contextLength: 1024, vocabSize: 50257, bosTokenId: 50256 });
 */
export function engineDecoder<S extends { readonly chunk: number; readonly length: number; dispose(): void }, M extends EngineModel<S>>(
  engine: Engine,
  model: M,
  info: Omit<DecoderInfo, 'runtime' | 'weightBytes'>,
): Decoder & { readonly model: M } {
  return {
    model,
    info: {
      ...info,
      runtime: `engine (${model.kind}, ${engine.threads} thread${engine.threads === 1 ? '' : 's'}, ${engine.variant})`,
      weightBytes: model.weightBytes,
    },
    session(capacity): DecoderSession {
      const state = model.newState(capacity);
      const run = async (ids: readonly number[], logits: boolean): Promise<Float32Array> => {
        let out: Float32Array = new Float32Array(0);
        for (let i = 0; i < ids.length; i += state.chunk) {
          if (i > 0) await nextTask();
          out = model.forward(state, ids.slice(i, i + state.chunk), { logits: logits && i + state.chunk >= ids.length });
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
