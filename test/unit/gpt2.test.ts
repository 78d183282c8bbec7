/**
 * The GPT-2 pieces that need no browser (the tokenizer has its own file, tokenizer.test.ts): safetensors (F32/F16/BF16, chunks), sampling,
 * streaming text (UTF-8 and stop sequences), options, and the decoder itself on
 * tfjs's CPU backend against PyTorch's first-step logits and greedy continuations.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { ManifestError } from '../../src/shared/errors/manifest.js';
import { checkGenerateOptions } from '../../src/handles/generate-options.js';
import { parseGpt2Config } from '../../workers/gpt2/config.js';
import { Gpt2Model, KvCache } from '../../workers/gpt2/model.js';
import { floatToHalf, readSafetensors, writeSafetensors } from '../../workers/gpt2/safetensors.js';
import { argmax, sampleToken, seededRandom } from '../../workers/gpt2/sampling.js';
import { TextStream } from '../../workers/gpt2/text-stream.js';
import { generate, loadTextGeneration, type GenerationEnv, type TextGenerationModel } from '../../workers/tasks/text-generation.js';
import { FifoQueue } from '../../workers/queues/fifo-queue.js';
import type { LoadedFiles } from '../../workers/loader.js';
import type { Manifest } from '../../src/shared/registry/schema.js';
import type { GenerateChunk } from '../../src/shared/types.js';

/** Model work runs as is on tfjs-cpu (no device to lose). */
const cpu: GenerationEnv = { run: (fn) => fn(), backend: () => 'cpu' };

const dir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../models/tiny-gpt');
const read = (f: string): Uint8Array => new Uint8Array(readFileSync(path.join(dir, f)));
interface Parity {
  prompts: Array<{ text: string; ids: number[]; firstLogits: number[]; greedy: number[]; greedyText: string }>;
  tokenizer: Array<{ text: string; ids: number[]; decoded: string }>;
}
const parity = JSON.parse(readFileSync(path.join(dir, 'parity.json'), 'utf8')) as Parity;

function loaded(files: Record<string, Uint8Array>): LoadedFiles {
  const manifest = {
    schema: 'webinfer.manifest/v1',
    id: 'tiny-gpt',
    version: '1.0.0',
    task: 'text-generation',
    format: 'gpt2-safetensors',
    createdAt: '2025-01-01T00:00:00.000Z',
    output: 'probabilities',
    variants: { float32: { entry: 'config.json', files: Object.entries(files).map(([p, b]) => ({ path: p, size: b.length, sha256: '0'.repeat(64) })) } },
  } as unknown as Manifest;
  const map = new Map(Object.entries(files));
  return { manifest, dtype: 'float32', files: map, bytes: 0, downloadedBytes: 0, offline: false, cached: false, warnings: [], release: (p) => void map.delete(p) };
}

describe('safetensors', () => {
  it('reads F32 and F16 tensors, whole or in chunks', () => {
    const a = new Float32Array([1.5, -2, 0.25, 65504, 1e-5, 0]);
    const bytes = writeSafetensors({ a: { shape: [2, 3], data: a }, h: { shape: [6], data: a, dtype: 'F16' } });
    for (const input of [bytes, [bytes.slice(0, 7), bytes.slice(7, 100), bytes.slice(100)]]) {
      const t = readSafetensors(input);
      expect(t.get('a')?.shape).toEqual([2, 3]);
      expect(Array.from(t.get('a')!.data)).toEqual(Array.from(a));
      const h = Array.from(t.get('h')!.data);
      expect(h.slice(0, 4)).toEqual([1.5, -2, 0.25, 65504]);
      expect(h[4]).toBeCloseTo(1e-5, 7);
    }
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
  });
  it('refuses a truncated or inconsistent file with ManifestError', () => {
    const bytes = writeSafetensors({ a: { shape: [4], data: new Float32Array(4) } });
    expect(() => readSafetensors(bytes.slice(0, bytes.length - 1))).toThrow(/data_offsets/);
    expect(() => readSafetensors(bytes.slice(0, 4))).toThrow(ManifestError);
    const bad = bytes.slice();
    new DataView(bad.buffer).setBigUint64(0, 10n ** 9n, true);
    expect(() => readSafetensors(bad)).toThrow(/past the end/);
  });
  it('reads the trained model: every GPT2LMHeadModel tensor, Conv1D [in, out] layout', () => {
    const cfg = parseGpt2Config(new TextDecoder().decode(read('config.json')));
    const t = readSafetensors(read('model.safetensors'));
    expect(t.get('transformer.wte.weight')?.shape).toEqual([cfg.vocab_size, cfg.n_embd]);
    expect(t.get('transformer.h.0.attn.c_attn.weight')?.shape).toEqual([cfg.n_embd, 3 * cfg.n_embd]);
    expect(t.get('transformer.h.0.mlp.c_proj.weight')?.shape).toEqual([4 * cfg.n_embd, cfg.n_embd]);
  });
});

describe('sampling', () => {
  const logits = new Float32Array([1, 3, 2, 0.5, 2.9]);
  it('greedy picks the largest logit; seeds are reproducible', () => {
    expect(sampleToken(logits, { temperature: 0, topK: 0, topP: 1 }, Math.random)).toBe(1);
    expect(argmax([0, 2, 2])).toBe(1);
    const run = (seed: number): number[] => {
      const r = seededRandom(seed);
      return Array.from({ length: 20 }, () => sampleToken(logits, { temperature: 1, topK: 0, topP: 1 }, r));
    };
    expect(run(7)).toEqual(run(7));
    expect(run(7)).not.toEqual(run(8));
  });
  it('top-k and top-p keep only the best tokens', () => {
    const r = seededRandom(1);
    const k2 = new Set(Array.from({ length: 200 }, () => sampleToken(logits, { temperature: 1, topK: 2, topP: 1 }, r)));
    expect([...k2].sort()).toEqual([1, 4]);
    const p = new Set(Array.from({ length: 200 }, () => sampleToken(logits, { temperature: 1, topK: 0, topP: 0.3 }, r)));
    expect([...p]).toEqual([1]);
  });
});

describe('TextStream', () => {
  const enc = new TextEncoder();
  it('never emits half a UTF-8 character', () => {
    const s = new TextStream([]);
    const bytes = enc.encode('a🎉b');
    const out = Array.from(bytes, (b) => s.push(Uint8Array.of(b)));
    expect(out).toEqual(['a', '', '', '', '🎉', 'b']);
    expect(s.finish()).toBe('');
    expect(s.text).toBe('a🎉b');
  });
  it('holds back a possible stop sequence and cuts the text before it', () => {
    const s = new TextStream(['\n\n']);
    expect(s.push(enc.encode('one\n'))).toBe('one');
    expect(s.push(enc.encode('two'))).toBe('\ntwo');
    expect(s.push(enc.encode('\n'))).toBe('');
    expect(s.push(enc.encode('\nrest'))).toBe('');
    expect(s.stopped).toBe(true);
    expect(s.text).toBe('one\ntwo');
  });
});

describe('generate options', () => {
  it('fills defaults and rejects bad values with InvalidInputError naming the field', () => {
    expect(checkGenerateOptions({ temperature: 0 })).toEqual({ maxTokens: 64, temperature: 0, topK: 0, topP: 1, stop: [], stopAtEos: true, useCache: true, flushTokens: 8, flushMs: 50 });
    const bad: Array<[object, string]> = [
      [{ maxTokens: 0 }, 'maxTokens'],
      [{ maxTokens: 1.5 }, 'maxTokens'],
      [{ temperature: -1 }, 'temperature'],
      [{ temperature: NaN }, 'temperature'],
      [{ topK: -3 }, 'topK'],
      [{ topP: 0 }, 'topP'],
      [{ useCache: 'no' }, 'useCache'],
      [{ seed: -1 }, 'seed'],
      [{ stop: [''] }, 'stop'],
      [{ stop: 'x' }, 'stop'],
    ];
    for (const [o, field] of bad) {
      try {
        checkGenerateOptions(o as never);
        expect.fail(`accepted ${JSON.stringify(o)}`);
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidInputError);
        expect((e as InvalidInputError).field).toBe(field);
      }
    }
  });
});

describe('decoder on tfjs CPU vs PyTorch', () => {
  let lm: TextGenerationModel;
  beforeAll(async () => {
    await tf.setBackend('cpu');
    lm = await loadTextGeneration(loaded({ 'config.json': read('config.json'), 'tokenizer.json': read('tokenizer.json'), 'model.safetensors': read('model.safetensors') }));
  });

  const model = (): Gpt2Model => {
    const d = lm.decoder as { model?: unknown };
    if (!(d.model instanceof Gpt2Model)) throw new Error('expected the tfjs decoder');
    return d.model;
  };

  it('first-step logits within 1e-3 of PyTorch', () => {
    for (const p of parity.prompts) {
      const cache = new KvCache(model().config.n_layer);
      const t = model().step(p.ids, cache);
      const got = t.dataSync();
      t.dispose();
      cache.dispose();
      let max = 0;
      for (let i = 0; i < got.length; i++) max = Math.max(max, Math.abs((got[i] as number) - (p.firstLogits[i] as number)));
      expect(got.length).toBe(p.firstLogits.length);
      expect(max, p.text).toBeLessThan(1e-3);
    }
  });

  it('greedy continuations of 64 tokens identical to PyTorch (through end-of-text tokens), with a flat tensor count', async () => {
    const before = tf.memory().numTensors;
    for (const p of parity.prompts) {
      const chunks: GenerateChunk[] = [];
      const r = await generate(() => lm, p.text, checkGenerateOptions({ temperature: 0, maxTokens: 64, stopAtEos: false }), new AbortController().signal, (c) => void chunks.push(...c), cpu, new FifoQueue());
      expect(r.tokens).toEqual(p.greedy);
      expect(r.finishReason).toBe('length');
      const eos = lm.eos[0]!;
      const cut = p.greedy.indexOf(eos);
      if (cut >= 0) {
        // With the default, generation ends at the first end-of-text token.
        const ended = await generate(() => lm, p.text, checkGenerateOptions({ temperature: 0, maxTokens: 64 }), new AbortController().signal, () => undefined, cpu, new FifoQueue());
        expect(ended.tokens).toEqual(p.greedy.slice(0, cut));
        expect(ended.finishReason).toBe('eos');
      }
      expect(chunks.map((c) => c.text).join('')).toBe(r.text);
      expect(chunks.filter((c) => c.tokenId >= 0).map((c) => c.tokenId)).toEqual(r.tokens);
      expect(tf.memory().numTensors).toBe(before);
    }
  });

  it('a KV-cached step gives the same logits as recomputing the prefix', () => {
    const ids = parity.prompts[0]!.ids;
    const a = new KvCache(model().config.n_layer);
    model().step(ids.slice(0, -1), a).dispose();
    const inc = model().step(ids.slice(-1), a);
    const b = new KvCache(model().config.n_layer);
    const full = model().step(ids, b);
    const d = tf.max(tf.abs(tf.sub(inc, full))).dataSync()[0] as number;
    expect(d).toBeLessThan(1e-4);
    expect(a.length).toBe(ids.length);
    [inc, full].forEach((t) => t.dispose());
    a.dispose();
    b.dispose();
  });

  it('stops on a stop sequence, honours abort between tokens, refuses a prompt longer than the context', async () => {
    const opts = checkGenerateOptions({ temperature: 0, maxTokens: 64, stopAtEos: false });
    const greedy = await generate(() => lm, 'The', opts, new AbortController().signal, () => undefined, cpu, new FifoQueue());
    const stopAt = greedy.text.slice(2, 5);
    expect(stopAt.length).toBe(3);
    const stopped = await generate(() => lm, 'The', { ...opts, stop: [stopAt] }, new AbortController().signal, () => undefined, cpu, new FifoQueue());
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.text).toBe(greedy.text.slice(0, greedy.text.indexOf(stopAt)));
    const ac = new AbortController();
    let n = 0;
    const r = await generate(() => lm, 'The', opts, ac.signal, (c) => {
      n += c.length;
      ac.abort();
    }, cpu, new FifoQueue());
    expect(r.finishReason).toBe('abort');
    expect(r.tokens.length).toBeLessThanOrEqual(2);
    expect(n).toBe(r.tokens.length);
    const long = 'word '.repeat(lm.decoder.info.contextLength + 10);
    await expect(generate(() => lm, long, opts, new AbortController().signal, () => undefined, cpu, new FifoQueue())).rejects.toMatchObject({ name: 'InvalidInputError', reason: 'context-overflow' });
  });

  it('two generations on one model are served first come first served, each with its own cache', async () => {
    const opts = checkGenerateOptions({ temperature: 0, maxTokens: 12, streamTokens: 1 });
    const order: string[] = [];
    const queue = new FifoQueue();
    const [a, b] = await Promise.all([
      generate(() => lm, 'Love is', opts, new AbortController().signal, () => void order.push('a'), cpu, queue),
      generate(() => lm, 'The computer', opts, new AbortController().signal, () => void order.push('b'), cpu, queue),
    ]);
    const alone = await generate(() => lm, 'The computer', opts, new AbortController().signal, () => undefined, cpu, new FifoQueue());
    expect(b.tokens).toEqual(alone.tokens);
    expect(order.indexOf('b')).toBeGreaterThan(order.lastIndexOf('a'));
    expect(a.tokens.length).toBeGreaterThan(0);
  });

  it('a model whose tensors do not match its config fails with ManifestError', async () => {
    const cfg = JSON.parse(new TextDecoder().decode(read('config.json'))) as Record<string, number>;
    const wrong = new TextEncoder().encode(JSON.stringify({ ...cfg, n_embd: cfg.n_embd! * 2 }));
    await expect(loadTextGeneration(loaded({ 'config.json': wrong, 'tokenizer.json': read('tokenizer.json'), 'model.safetensors': read('model.safetensors') }))).rejects.toThrow(/shape/);
  });
});

describe('FifoQueue', () => {
  it('a job aborted while waiting leaves at once without running', async () => {
    const q = new FifoQueue();
    let release!: () => void;
    const first = q.run(new AbortController().signal, () => new Promise<string>((r) => (release = () => r('first'))), () => 'aborted');
    const ac = new AbortController();
    let ran = false;
    const second = q.run(ac.signal, async () => {
      ran = true;
      return 'second';
    }, () => 'aborted');
    ac.abort();
    expect(await second).toBe('aborted');
    release();
    expect(await first).toBe('first');
    expect(ran).toBe(false);
  });
});
