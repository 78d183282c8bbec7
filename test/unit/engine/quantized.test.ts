/**
 * int8 / int4 weights on the engine: the registry's quantizer (registry/src/quantize-text.ts)
 * writes tiny-gpt's panels, the engine runs them kept quantized. Checked against the float32
 * model: weight bytes, first-step logits, the most likely next token, greedy continuations.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quantizeTextSafetensors } from '../../../registry/src/quantize-text.js';
import { dequantizeAt, parseSafetensors } from '../../../src/shared/registry/index.js';
import { parseGpt2Config } from '../../../workers/gpt2/config.js';
import { Engine } from '../../../workers/engine/engine.js';
import { Gpt2Engine } from '../../../workers/engine/gpt2.js';
import { indexSafetensors } from '../../../workers/engine/tensors.js';
import { engineSources, nodeThreads } from './helpers.js';

const dir = path.resolve(import.meta.dirname, '../../../models/tiny-gpt');
const config = parseGpt2Config(readFileSync(path.join(dir, 'config.json'), 'utf8'));
const parity = JSON.parse(readFileSync(path.join(dir, 'parity.json'), 'utf8')) as { prompts: { text: string; ids: number[]; greedy: number[] }[] };
const f32 = new Uint8Array(readFileSync(path.join(dir, 'model.safetensors')));
const argmax = (a: Float32Array): number => a.reduce((best, v, i) => (v > (a[best] as number) ? i : best), 0);

function greedy(lm: Gpt2Engine, ids: number[], n: number): number[] {
  const s = lm.newState(ids.length + n);
  let logits = lm.forward(s, ids);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    out.push(argmax(logits));
    if (i < n - 1) logits = lm.forward(s, [out[i] as number]);
  }
  s.dispose();
  return out;
}

describe('quantized GPT-2 on the engine', () => {
  let engine: Engine;
  let ref: Gpt2Engine;
  beforeAll(async () => {
    engine = await Engine.start({ sources: engineSources(), threads: 2, relaxed: false, spawn: nodeThreads });
    ref = await Gpt2Engine.load(engine, config, indexSafetensors(f32));
  });
  afterAll(() => {
    ref?.dispose();
    engine?.dispose();
  });

  it('the quantizer writes panels that dequantize to the float weights within half a step of their group scale', async () => {
    const q8 = parseSafetensors(quantizeTextSafetensors(f32, 'int8'));
    expect(q8.metadata).toMatchObject({ 'webinfer.quantization': 'int8', 'webinfer.group': '64' });
    const w = parseSafetensors(f32).tensors.get('transformer.h.0.attn.c_attn.weight')!;
    const floats = new Float32Array(w.data.slice().buffer);
    const q = q8.tensors.get('transformer.h.0.attn.c_attn.weight.wi_q8')!;
    const s = new Float32Array(q8.tensors.get('transformer.h.0.attn.c_attn.weight.wi_scales')!.data.slice().buffer);
    const [K, N] = w.shape as [number, number];
    let worst = 0;
    for (const [k, n] of [[0, 0], [5, 7], [63, 8], [64, 100], [K - 1, N - 1]] as const) {
      const scale = s[(Math.floor(n / 8) * (K / 64) + Math.floor(k / 64)) * 8 + (n % 8)] as number;
      const err = Math.abs(dequantizeAt(q.data, s, 8, K, 64, k, n) - (floats[k * N + n] as number));
      worst = Math.max(worst, err / scale);
    }
    expect(worst).toBeLessThanOrEqual(0.5 + 1e-6);
  });

  // int8 and int4 also quantize each input row (per group, int8) for integer dot products: the
  // logits move a little more than weight-only quantization would; held-out perplexity moves by
  // +0.01 % (int8) and +0.22 % (int4) on tiny-gpt (scripts/eval-perplexity.ts).
  for (const [kind, bytesRatio, maxFirst] of [['int8', 0.3, 0.1], ['int4', 0.2, 0.6]] as const) {
    it(`${kind}: weights held quantized (≤ ${bytesRatio}× float32), the same top token, logits close`, async () => {
      const lm = await Gpt2Engine.load(engine, config, indexSafetensors(quantizeTextSafetensors(f32, kind)));
      try {
        expect(lm.kind).toBe(kind);
        // Matrices are quantized; norms, biases and position embeddings stay float32.
        expect(lm.weightBytes / ref.weightBytes).toBeLessThan(bytesRatio + 0.05);
        for (const p of parity.prompts) {
          const a = ref.newState(p.ids.length);
          const b = lm.newState(p.ids.length);
          const la = ref.forward(a, p.ids);
          const lb = lm.forward(b, p.ids);
          a.dispose();
          b.dispose();
          let max = 0;
          for (let i = 0; i < la.length; i++) max = Math.max(max, Math.abs((la[i] as number) - (lb[i] as number)));
          expect(max, p.text).toBeLessThan(maxFirst);
          expect(argmax(lb), p.text).toBe(argmax(la));
        }
      } finally {
        lm.dispose();
      }
    });
  }

  it('int8: greedy continuations equal float32 for their first 8 tokens (later, near ties may go either way)', async () => {
    const lm = await Gpt2Engine.load(engine, config, indexSafetensors(quantizeTextSafetensors(f32, 'int8')));
    for (const p of parity.prompts) {
      const a = greedy(ref, p.ids, 32);
      const b = greedy(lm, p.ids, 32);
      expect(b.slice(0, 8), p.text).toEqual(a.slice(0, 8));
    }
    lm.dispose();
  });

  it('refuses to quantize weights twice', async () => {
    expect(() => quantizeTextSafetensors(quantizeTextSafetensors(f32, 'int8'), 'int4')).toThrow(/already int8/);
  });
});
