/**
 * Llama-family text models end to end in Node, from what the registry publishes to logits:
 * `publish` (registry/src/publish.ts) of the Hugging Face directories models/llama-tiny and
 * models/qwen2-tiny — whole, sharded with an index and chunked, quantized — then
 * `loadTextModel` (workers/text/load.ts) on tfjs's CPU backend and on the engine, against the
 * PyTorch reference (parity.json): first-step logits, greedy continuations through the KV cache,
 * end tokens, and a chat generation whose prompt is the template's.
 */
import { mkdtemp, readFile, rm, writeFile, cp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dequantizeAt, parseSafetensors, paths, writeRawSafetensors } from 'webinfer/protocol';
import { publish } from '../../registry/src/publish.js';
import type { Manifest } from '../../src/shared/registry/schema.js';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import { checkGenerateOptions } from '../../src/handles/generate-options.js';
import { Engine } from '../../workers/engine/engine.js';
import type { LoadedFiles } from '../../workers/loader.js';
import { FifoQueue } from '../../workers/queues/fifo-queue.js';
import { generate, type GenerationEnv } from '../../workers/tasks/text-generation.js';
import { loadTextModel, type TextModel } from '../../workers/text/load.js';
import { engineSources, nodeThreads } from './engine/helpers.js';

const models = path.resolve(import.meta.dirname, '../../models');
interface Parity {
  prompts: { ids: number[]; firstLogits: number[]; greedy: number[] }[];
  chat: { messages: { role: string; content: string }[]; add_generation_prompt: boolean; ids?: number[] }[];
}
const parityOf = async (m: string): Promise<Parity> => JSON.parse(await readFile(path.join(models, m, 'parity.json'), 'utf8')) as Parity;
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
};
const argmax = (a: ArrayLike<number>): number => {
  let best = 0;
  for (let i = 1; i < a.length; i++) if ((a[i] as number) > (a[best] as number)) best = i;
  return best;
};
/** Output width of a llama-tiny matrix (the quantized tensors are [panels, K, 8]: N is not in their shape). */
const parityShape = (name: string): number => {
  const c = { C: 64, I: 176, V: 512, KD: 32 };
  if (/embed_tokens|lm_head/.test(name)) return c.V;
  if (/[kv]_proj/.test(name)) return c.KD;
  if (/gate_proj|up_proj/.test(name)) return c.I;
  return c.C;
};
const cpu: GenerationEnv = { run: (fn) => fn(), backend: () => 'cpu' };

let tmp: string;
let root: string;
let engine: Engine;
const released: string[] = [];

/** The verified files of a published variant, as the worker's loader hands them over. */
async function loaded(id: string, dtype: 'float32' | 'int8' | 'int4' | 'float16' = 'float32'): Promise<LoadedFiles> {
  const manifest = JSON.parse(await readFile(path.join(root, paths.manifest(id, '1.0.0')), 'utf8')) as Manifest;
  const variant = manifest.variants[dtype]!;
  const files = new Map<string, Uint8Array>();
  for (const f of variant.files) files.set(f.path, new Uint8Array(await readFile(path.join(root, paths.blob(f.sha256)))));
  return { manifest, dtype, files, bytes: 0, downloadedBytes: 0, offline: false, cached: false, warnings: [], release: (p) => void (released.push(p), files.delete(p)) };
}

/** Greedy tokens through the session (the KV cache): the prompt once, then one token per step. */
async function greedy(lm: TextModel, ids: number[], n: number): Promise<{ first: Float32Array; tokens: number[] }> {
  const s = lm.decoder.session(ids.length + n);
  try {
    let logits = await s.step(ids);
    const first = logits;
    const tokens: number[] = [];
    for (let i = 0; i < n; i++) {
      tokens.push(argmax(logits));
      logits = await s.step([tokens.at(-1) as number]);
    }
    return { first, tokens };
  } finally {
    s.dispose();
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(path.join(tmpdir(), 'webinfer-text-load-'));
  root = path.join(tmp, 'registry');
  // llama-tiny three ways: whole (with its quantized variants), and sharded + chunked.
  await publish({ modelDir: path.join(models, 'llama-tiny'), root, id: 'llama-tiny', version: '1.0.0', quantize: ['float16', 'int8', 'int4'] });
  await publish({ modelDir: path.join(models, 'qwen2-tiny'), root, id: 'qwen2-tiny', version: '1.0.0' });
  const dir = path.join(tmp, 'sharded');
  await cp(path.join(models, 'llama-tiny'), dir, { recursive: true });
  await rm(path.join(dir, 'model.safetensors'));
  const { tensors } = parseSafetensors(new Uint8Array(await readFile(path.join(models, 'llama-tiny', 'model.safetensors'))));
  const names = [...tensors.keys()].reverse(); // shards need not follow the model's order
  const map: Record<string, string> = {};
  for (const [i, part] of [names.slice(0, 9), names.slice(9)].entries()) {
    const file = `model-0000${i + 1}-of-00002.safetensors`;
    await writeFile(path.join(dir, file), writeRawSafetensors(part.map((n) => [n, tensors.get(n)!] as const), {}));
    for (const n of part) map[n] = file;
  }
  await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
  await publish({ modelDir: dir, root, id: 'llama-sharded', version: '1.0.0', chunkBytes: 100 * 1024 });
  // llama-tiny in bfloat16 (each weight rounded to nearest even), and the same rounded values as float32.
  const bf = path.join(tmp, 'bf16');
  const bf32 = path.join(tmp, 'bf16-as-f32');
  const halves = [...tensors].map(([n, t]) => {
    const src = new Uint32Array(t.data.slice().buffer);
    const half = new Uint16Array(src.length);
    const wide = new Uint32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const x = src[i] as number;
      half[i] = ((x + 0x7fff + ((x >>> 16) & 1)) >>> 16) & 0xffff;
      wide[i] = (half[i] as number) << 16;
    }
    return { n, shape: t.shape, half, wide };
  });
  for (const [d, asBf16] of [[bf, true], [bf32, false]] as const) {
    await cp(path.join(models, 'llama-tiny'), d, { recursive: true });
    const list = halves.map(({ n, shape, half, wide }) => [n, asBf16 ? { dtype: 'BF16', shape, data: new Uint8Array(half.buffer) } : { dtype: 'F32', shape, data: new Uint8Array(wide.buffer) }] as const);
    await writeFile(path.join(d, 'model.safetensors'), writeRawSafetensors(list, {}));
  }
  await publish({ modelDir: bf, root, id: 'llama-bf16', version: '1.0.0' });
  await publish({ modelDir: bf32, root, id: 'llama-bf16-f32', version: '1.0.0' });
  engine = await Engine.start({ sources: engineSources(), threads: 2, relaxed: false, spawn: nodeThreads });
}, 120_000);
afterAll(async () => {
  engine?.dispose();
  await rm(tmp, { recursive: true, force: true });
});

for (const name of ['llama-tiny', 'qwen2-tiny']) {
  describe(`${name} published and loaded`, () => {
    for (const where of ['tfjs-cpu', 'engine'] as const) {
      it(`${where}: first-step logits within 1e-3 of PyTorch and 32 greedy tokens identical through the KV cache`, async () => {
        const parity = await parityOf(name);
        const lm = await loadTextModel(await loaded(name), where === 'engine' ? engine : undefined);
        const before = tf.memory().numTensors;
        try {
          expect(lm.decoder.info.runtime).toMatch(where === 'engine' ? /^engine \(float32, 2 threads/ : /^tfjs \(cpu\)/);
          expect(lm.decoder.info.contextLength).toBe(256);
          for (const p of parity.prompts) {
            const r = await greedy(lm, p.ids, 32);
            expect(maxDiff(r.first, p.firstLogits), JSON.stringify(p.ids.slice(0, 4))).toBeLessThan(1e-3);
            expect(r.tokens).toEqual(p.greedy.slice(0, 32));
          }
          expect(tf.memory().numTensors).toBe(before);
        } finally {
          lm.dispose();
        }
      }, 120_000);
    }
  });
}

describe('shards, chunks, quantized variants, end tokens, chat', () => {
  it('a bfloat16 checkpoint loads to the logits of the same values in float32, on tfjs and on the engine, at half the bytes', async () => {
    const parity = await parityOf('llama-tiny');
    const bytesOf = async (id: string) => [...(await loaded(id)).files.values()].reduce((a, b) => a + b.byteLength, 0);
    expect(await bytesOf('llama-bf16')).toBeLessThan((await bytesOf('llama-bf16-f32')) / 1.9);
    for (const e of [engine, undefined]) {
      const lm = await loadTextModel(await loaded('llama-bf16'), e);
      const ref = await loadTextModel(await loaded('llama-bf16-f32'), e);
      try {
        const r = await greedy(lm, parity.prompts[0]!.ids, 8);
        const want = await greedy(ref, parity.prompts[0]!.ids, 8);
        expect(maxDiff(r.first, want.first)).toBeLessThan(1e-4);
        expect(r.tokens).toEqual(want.tokens);
        // Rounding the weights to bfloat16 moves the logits a little from PyTorch's float32 ones, not the top token.
        expect(argmax(r.first)).toBe(argmax(parity.prompts[0]!.firstLogits));
      } finally {
        lm.dispose();
        ref.dispose();
      }
    }
  }, 120_000);

  it('a sharded, chunked checkpoint loads to the same logits as the whole file, each chunk released once copied', async () => {
    const parity = await parityOf('llama-tiny');
    released.length = 0;
    const files = await loaded('llama-sharded');
    const chunks = [...files.files.keys()].filter((p) => p.includes('.part-'));
    expect(chunks.length).toBeGreaterThan(2);
    const lm = await loadTextModel(files, engine);
    try {
      const r = await greedy(lm, parity.prompts[0]!.ids, 8);
      expect(maxDiff(r.first, parity.prompts[0]!.firstLogits)).toBeLessThan(1e-3);
      expect(released.sort()).toEqual(chunks.sort());
    } finally {
      lm.dispose();
    }
    const cpuLm = await loadTextModel(await loaded('llama-sharded'));
    try {
      expect(maxDiff((await greedy(cpuLm, parity.prompts[0]!.ids, 0)).first, parity.prompts[0]!.firstLogits)).toBeLessThan(1e-3);
    } finally {
      cpuLm.dispose();
    }
  }, 120_000);

  it('float16, int8 and int4 variants run on the engine: weights held smaller; logits within 0.2 % / 2 % / 15 % of their range of PyTorch (int8: the same top token)', async () => {
    const parity = await parityOf('llama-tiny');
    const f32 = await loadTextModel(await loaded('llama-tiny'), engine);
    const f32Bytes = f32.decoder.info.weightBytes;
    f32.dispose();
    // A random 64-wide model is hard on int4 (groups of 16 here): its error is int8's × ~18 (127 / 7 steps).
    for (const [dtype, ratio, tol] of [['float16', 1.01, 0.002], ['int8', 0.4, 0.02], ['int4', 0.3, 0.15]] as const) {
      const lm = await loadTextModel(await loaded('llama-tiny', dtype), engine);
      try {
        expect(lm.decoder.info.weightBytes / f32Bytes, dtype).toBeLessThanOrEqual(ratio);
        for (const p of parity.prompts) {
          const { first } = await greedy(lm, p.ids, 0);
          if (dtype !== 'int4') expect(argmax(first), dtype).toBe(argmax(p.firstLogits));
          const range = Math.max(...p.firstLogits) - Math.min(...p.firstLogits);
          expect(maxDiff(first, p.firstLogits) / range, dtype).toBeLessThan(tol);
        }
      } finally {
        lm.dispose();
      }
    }
  }, 120_000);

  it('int8 and int4 kernels compute what their weights say: equal to the float engine on the dequantized weights (within the activations’ own int8 rounding)', async () => {
    const parity = await parityOf('llama-tiny');
    for (const [dtype, bits] of [['int8', 8], ['int4', 4]] as const) {
      const files = await loaded('llama-tiny', dtype);
      const { tensors, metadata } = parseSafetensors(files.files.get('model.safetensors')!);
      const G = Number(metadata['webinfer.group']);
      const out: Array<[string, { dtype: 'F32'; shape: number[]; data: Uint8Array }]> = [];
      for (const [name, t] of tensors) {
        if (name.endsWith('.wi_scales')) continue;
        const m = /^(.*)\.wi_q[48]$/.exec(name);
        if (!m) {
          out.push([name, t as never]);
          continue;
        }
        const base = m[1] as string;
        const scales = tensors.get(`${base}.wi_scales`)!;
        const K = t.shape[1] as number;
        const N = parityShape(base);
        const sc = new Float32Array(scales.data.slice().buffer);
        const w = new Float32Array(N * K);
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) w[n * K + k] = dequantizeAt(t.data, sc, bits, K, G, k, n);
        out.push([base, { dtype: 'F32', shape: [N, K], data: new Uint8Array(w.buffer) }]);
      }
      const q = await loadTextModel(files, engine);
      const deq = await loadTextModel({ ...(await loaded('llama-tiny')), files: new Map([...(await loaded('llama-tiny')).files].map(([p, b]) => [p, p === 'model.safetensors' ? writeRawSafetensors(out, {}) : b])) }, engine);
      try {
        for (const p of parity.prompts) {
          const a = (await greedy(q, p.ids, 0)).first;
          const b = (await greedy(deq, p.ids, 0)).first;
          const range = Math.max(...b) - Math.min(...b);
          expect(maxDiff(a, b) / range, dtype).toBeLessThan(0.01);
        }
      } finally {
        q.dispose();
        deq.dispose();
      }
    }
  }, 120_000);

  it('int8 weights on tfjs are refused with a ManifestError naming the engine', async () => {
    await expect(loadTextModel(await loaded('llama-tiny', 'int8'))).rejects.toThrow(ManifestError);
  });

  it('end tokens come from config.json and the tokenizer; a chat generation runs the template’s prompt', async () => {
    const llama = await loadTextModel(await loaded('llama-tiny'), engine);
    const qwen = await loadTextModel(await loaded('qwen2-tiny'), engine);
    try {
      expect(llama.eos).toEqual([2]);
      expect(qwen.eos).toEqual([511]);
      expect(llama.decoder.info.bosTokenId).toBe(1);
      const chat = (await parityOf('qwen2-tiny')).chat[0]!;
      const r = await generate(() => qwen, chat.messages, checkGenerateOptions({ temperature: 0, maxTokens: 8, stopAtEos: false }), new AbortController().signal, () => undefined, cpu, new FifoQueue());
      expect(r.promptTokens).toBe(chat.ids!.length);
      expect(r.tokens).toEqual((await greedy(qwen, chat.ids!, 8)).tokens);
      await expect(generate(() => llama, [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }], checkGenerateOptions({}), new AbortController().signal, () => undefined, cpu, new FifoQueue())).rejects.toMatchObject({
        name: 'InvalidInputError',
        reason: 'chat-template',
      });
    } finally {
      llama.dispose();
      qwen.dispose();
    }
  }, 120_000);
});
