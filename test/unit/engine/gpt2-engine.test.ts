/**
 * The WebAssembly engine's GPT-2 (workers/engine) in Node, single-threaded and with two threads
 * (worker_threads over shared memory), float32 panels: first-step logits within 1e-3 of PyTorch,
 * greedy continuations identical, KV-cached steps equal to recomputing, chunked prompts equal to
 * whole ones, and memory reused after dispose.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGpt2Config } from '../../../workers/gpt2/config.js';
import { Engine } from '../../../workers/engine/engine.js';
import { Gpt2Engine } from '../../../workers/engine/gpt2.js';
import { indexSafetensors } from '../../../workers/engine/tensors.js';
import { engineSources, nodeThreads } from './helpers.js';

const dir = path.resolve(import.meta.dirname, '../../../models/tiny-gpt');
const read = (f: string): Uint8Array => new Uint8Array(readFileSync(path.join(dir, f)));
const config = parseGpt2Config(new TextDecoder().decode(read('config.json')));
const parity = JSON.parse(readFileSync(path.join(dir, 'parity.json'), 'utf8')) as { prompts: { text: string; ids: number[]; firstLogits: number[]; greedy: number[] }[] };
const weights = read('model.safetensors');

const argmax = (a: Float32Array): number => a.reduce((best, v, i) => (v > (a[best] as number) ? i : best), 0);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};

for (const threads of [1, 2]) {
  describe(`engine GPT-2, float32, ${threads} thread(s)`, () => {
    let engine: Engine;
    let lm: Gpt2Engine;
    beforeAll(async () => {
      engine = await Engine.start({ sources: engineSources(), threads, relaxed: false, spawn: nodeThreads });
      lm = await Gpt2Engine.load(engine, config, indexSafetensors(weights));
    });
    afterAll(() => {
      lm?.dispose();
      engine?.dispose();
    });

    it('runs the threaded build when asked for two threads', async () => {
      expect(engine.threads).toBe(threads);
      expect(engine.variant).toBe(threads > 1 ? 'engine-mt' : 'engine-st');
    });

    it('first-step logits within 1e-3 of PyTorch', async () => {
      for (const p of parity.prompts) {
        const state = lm.newState(config.n_positions);
        const got = lm.forward(state, p.ids);
        state.dispose();
        expect(got.length).toBe(p.firstLogits.length);
        expect(maxDiff(got, p.firstLogits), p.text).toBeLessThan(1e-3);
      }
    });

    it('greedy continuations of 64 tokens identical to PyTorch', async () => {
      for (const p of parity.prompts) {
        const state = lm.newState(p.ids.length + 64);
        let logits = lm.forward(state, p.ids);
        const out: number[] = [];
        for (let i = 0; i < 64; i++) {
          const next = argmax(logits);
          out.push(next);
          if (i < 63) logits = lm.forward(state, [next]);
        }
        state.dispose();
        expect(out, p.text).toEqual(p.greedy);
      }
    });

    it('a prompt in chunks of 3 gives the logits of the whole prompt; a cached step equals recomputing', async () => {
      const ids = [...parity.prompts[0]!.ids, ...parity.prompts[1]!.ids];
      const whole = lm.newState(64);
      const a = lm.forward(whole, ids);
      const chunked = lm.newState(64, 3);
      const b = lm.forward(chunked, ids);
      expect(maxDiff(a, b)).toBeLessThan(1e-4);
      const inc = lm.newState(64);
      lm.forward(inc, ids.slice(0, -1), { logits: false });
      const c = lm.forward(inc, ids.slice(-1));
      expect(maxDiff(a, c)).toBeLessThan(1e-4);
      [whole, chunked, inc].forEach((s) => s.dispose());
    });

    it('refuses tokens past the state and outside the vocabulary', async () => {
      const s = lm.newState(4);
      expect(() => lm.forward(s, [1, 2, 3, 4, 5])).toThrow(/exceeds/);
      expect(() => lm.forward(s, [config.vocab_size])).toThrow(/vocabulary/);
      s.dispose();
    });

    it('memory freed by a disposed model is reused by the next one', async () => {
      const heap = engine.heapBytes;
      const inUse = engine.bytesInUse;
      const again = await Gpt2Engine.load(engine, config, indexSafetensors(weights));
      again.dispose();
      const third = await Gpt2Engine.load(engine, config, indexSafetensors(weights));
      expect(engine.heapBytes).toBeLessThanOrEqual(heap + third.weightBytes + 1024 * 1024);
      third.dispose();
      expect(engine.bytesInUse).toBe(inUse);
    });
  });
}

describe('loading releases the file chunk by chunk', () => {
  it('every chunk is released once its tensors are in the engine, and the model still matches PyTorch', async () => {
    const engine = await Engine.start({ sources: engineSources(), threads: 1, relaxed: false, spawn: nodeThreads });
    // tiny-gpt's file cut into 1 MiB chunks, as the registry cuts big files.
    const size = 1 << 20;
    const chunks = Array.from({ length: Math.ceil(weights.byteLength / size) }, (_, i) => weights.subarray(i * size, (i + 1) * size));
    const released: number[] = [];
    const lm = await Gpt2Engine.load(engine, config, indexSafetensors(chunks, 'model.safetensors', { release: (i) => released.push(i) }));
    expect(released.sort((a, b) => a - b)).toEqual(chunks.map((_, i) => i));
    const p = parity.prompts[0]!;
    const s = lm.newState(64);
    expect(maxDiff(lm.forward(s, p.ids), p.firstLogits)).toBeLessThan(1e-3);
    s.dispose();
    lm.dispose();
    engine.dispose();
  });
});
