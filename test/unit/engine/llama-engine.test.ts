/**
 * Llama-family decoders on the engine (workers/engine/llama.ts) against the plain-PyTorch reference
 * of models/llama-tiny/make.py, on a Llama-shaped checkpoint (grouped-query attention, llama3 rope
 * scaling, separate head) and a Qwen2-shaped one (q/k/v biases, tied embeddings, rope_theta 1e6):
 * first-step logits within 1e-3, 64 greedy tokens identical, with one and two threads; chunked
 * prompts and cached steps equal to whole prompts.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../../workers/engine/engine.js';
import { LlamaEngine } from '../../../workers/engine/llama.js';
import { indexSafetensors } from '../../../workers/engine/tensors.js';
import { parseLlamaConfig } from '../../../workers/llama/config.js';
import { engineSources, nodeThreads } from './helpers.js';

interface Parity {
  prompts: { ids: number[]; firstLogits: number[]; greedy: number[] }[];
}
const argmax = (a: Float32Array): number => a.reduce((best, v, i) => (v > (a[best] as number) ? i : best), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

for (const name of ['llama-tiny', 'qwen2-tiny']) {
  const dir = path.resolve(import.meta.dirname, '../../../models', name);
  const config = parseLlamaConfig(readFileSync(path.join(dir, 'config.json'), 'utf8'));
  const parity = JSON.parse(readFileSync(path.join(dir, 'parity.json'), 'utf8')) as Parity;
  const weights = new Uint8Array(readFileSync(path.join(dir, 'model.safetensors')));
  for (const threads of [1, 2]) {
    describe(`${name} on the engine, ${threads} thread(s)`, () => {
      let engine: Engine;
      let lm: LlamaEngine;
      beforeAll(async () => {
        engine = await Engine.start({ sources: engineSources(), threads, relaxed: false, spawn: nodeThreads });
        lm = await LlamaEngine.load(engine, config, indexSafetensors(weights));
      });
      afterAll(() => {
        lm?.dispose();
        engine?.dispose();
      });

      it('first-step logits within 1e-3 of the PyTorch reference', () => {
        for (const p of parity.prompts) {
          const s = lm.newState(p.ids.length);
          const got = lm.forward(s, p.ids);
          s.dispose();
          expect(got.length).toBe(config.vocab);
          expect(maxDiff(got, p.firstLogits), JSON.stringify(p.ids.slice(0, 4))).toBeLessThan(1e-3);
        }
      });

      it('64 greedy tokens identical to the PyTorch reference', () => {
        for (const p of parity.prompts) {
          const s = lm.newState(p.ids.length + 64);
          let logits = lm.forward(s, p.ids);
          const out: number[] = [];
          for (let i = 0; i < 64; i++) {
            out.push(argmax(logits));
            if (i < 63) logits = lm.forward(s, [out[i] as number]);
          }
          s.dispose();
          expect(out).toEqual(p.greedy);
        }
      });

      it('a prompt in chunks of 5 equals the whole prompt; a cached step equals recomputing', () => {
        const ids = parity.prompts[3]!.ids;
        const whole = lm.newState(64);
        const a = lm.forward(whole, ids);
        const chunked = lm.newState(64, 5);
        expect(maxDiff(a, lm.forward(chunked, ids))).toBeLessThan(1e-4);
        const inc = lm.newState(64);
        lm.forward(inc, ids.slice(0, -1), { logits: false });
        expect(maxDiff(a, lm.forward(inc, ids.slice(-1)))).toBeLessThan(1e-4);
        [whole, chunked, inc].forEach((s) => s.dispose());
      });
    });
  }
}

describe('Llama-family config', () => {
  const base = JSON.parse(readFileSync(path.resolve(import.meta.dirname, '../../../models/llama-tiny/config.json'), 'utf8')) as Record<string, unknown>;
  it('refuses what the engine cannot run, by name', () => {
    expect(() => parseLlamaConfig(JSON.stringify({ ...base, model_type: 'gemma' }))).toThrow(/model_type "gemma" is not a Llama-family model/);
    expect(() => parseLlamaConfig(JSON.stringify({ ...base, num_key_value_heads: 3 }))).toThrow(/num_key_value_heads \(3\) must divide num_attention_heads \(4\)/);
    expect(() => parseLlamaConfig(JSON.stringify({ ...base, rope_scaling: { type: 'yarn', factor: 4 } }))).toThrow(/rope_scaling type "yarn" is not supported/);
    expect(() => parseLlamaConfig(JSON.stringify({ ...base, model_type: 'mistral', sliding_window: 64 }))).toThrow(/sliding_window \(64\) shorter than the context/);
    expect(() => parseLlamaConfig(JSON.stringify({ ...base, hidden_act: 'gelu' }))).toThrow(/hidden_act "gelu" is not supported/);
  });
  it('fills the defaults: kv heads, head size, Qwen2 biases', () => {
    const c = parseLlamaConfig(JSON.stringify({ ...base, num_key_value_heads: undefined }));
    expect(c).toMatchObject({ kvHeads: 4, headDim: 16, qkvBias: false });
    expect(parseLlamaConfig(readFileSync(path.resolve(import.meta.dirname, '../../../models/qwen2-tiny/config.json'), 'utf8'))).toMatchObject({ qkvBias: true, tied: true, kvHeads: 1 });
  });
});
