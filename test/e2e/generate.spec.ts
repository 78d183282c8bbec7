/**
 * Text generation in the browser (WASM project): parity with PyTorch (first-step
 * logits, greedy continuations recorded by models/tiny-gpt/train.py), streaming in
 * batches, seeds, stop sequences, abort, a fair queue, chunked downloads, memory.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, registryUrl, test } from './fixtures.js';
import { REPO } from './server.js';

interface Parity {
  prompts: Array<{ text: string; ids: number[]; firstLogits: number[]; greedy: number[] }>;
}
const parity = JSON.parse(readFileSync(path.join(REPO, 'models/tiny-gpt/parity.json'), 'utf8')) as Parity;
const config = JSON.parse(readFileSync(path.join(REPO, 'models/tiny-gpt/config.json'), 'utf8')) as { eos_token_id: number; n_positions: number };
/** PyTorch's greedy tokens up to (not including) the first eos. */
const untilEos = (g: number[]): number[] => (g.includes(config.eos_token_id) ? g.slice(0, g.indexOf(config.eos_token_id)) : g);

test.setTimeout(180_000);

test('WASM matches PyTorch: first-step logits within 1e-3, greedy 64-token continuations identical, streamed in batches', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, prompts }) => {
      const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true });
      const lm = await client.load('tiny-gpt@stable', { task: 'text-generation' });
      const out = [];
      for (const p of prompts) {
        const logits = await lm.debugLogits(p.ids);
        let maxErr = 0;
        for (let i = 0; i < logits.length; i++) maxErr = Math.max(maxErr, Math.abs((logits[i] as number) - (p.firstLogits[i] as number)));
        const chunks: Array<{ text: string; tokenId: number }> = [];
        const stream = lm.generate(p.text, { temperature: 0, maxTokens: 64, streamMs: 0, streamTokens: 8, stopAtEos: false });
        for await (const c of stream) chunks.push(c);
        const res = await stream.result;
        const ended = await lm.generateText(p.text, { temperature: 0, maxTokens: 64 });
        out.push({ ended: { tokens: ended.tokens, finishReason: ended.finishReason }, maxErr, n: logits.length, tokens: res.tokens, finishReason: res.finishReason, messages: res.messages, text: res.text, streamed: chunks.map((c) => c.text).join(''), chunkIds: chunks.filter((c) => c.tokenId >= 0).map((c) => c.tokenId) });
      }
      const backend = client.backend?.name;
      await client.dispose();
      return { out, backend };
    },
    { registry: registryUrl(registry), prompts: parity.prompts },
  );
  expect(r.backend).toBe('wasm');
  r.out.forEach((o, i) => {
    const p = parity.prompts[i]!;
    expect(o.n).toBe(p.firstLogits.length);
    expect(o.maxErr, p.text).toBeLessThan(1e-3);
    expect(o.tokens, p.text).toEqual(p.greedy);
    expect(o.finishReason).toBe('length');
    // By default generation ends at the first end-of-text token.
    const want = untilEos(p.greedy);
    expect(o.ended.tokens).toEqual(want);
    expect(o.ended.finishReason).toBe(want.length === 64 ? 'length' : 'eos');
    expect(o.streamed).toBe(o.text);
    expect(o.chunkIds).toEqual(o.tokens);
    // Batches of 8 (the first token alone): far fewer messages than tokens.
    expect(o.messages).toBeLessThanOrEqual(2 + Math.ceil((o.tokens.length - 1) / 8));
    expect(o.messages).toBeLessThan(o.tokens.length);
  });
});

test('a seed gives the same tokens; stop sequences end the text; chunked weights give the same model', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const lm = await client.load('tiny-gpt', { task: 'text-generation' });
    const opts = { temperature: 0.9, topK: 40, topP: 0.95, maxTokens: 40, stopAtEos: false };
    const a = await lm.generateText('Once upon', { ...opts, seed: 7 });
    const b = await lm.generateText('Once upon', { ...opts, seed: 7 });
    const c = await lm.generateText('Once upon', { ...opts, seed: 8 });
    const greedy = await lm.generateText('The', { temperature: 0, maxTokens: 40, stopAtEos: false });
    const stopAt = greedy.text.slice(3, 6);
    const stopped = await lm.generateText('The', { temperature: 0, maxTokens: 40, stop: [stopAt], stopAtEos: false });
    const chunked = await client.load('tiny-gpt-chunked@stable', { task: 'text-generation' });
    const viaChunks = await chunked.generateText('Once upon', { ...opts, seed: 7 });
    await client.dispose();
    return { a, b, c, greedy, stopAt, stopped, viaChunks };
  }, registryUrl(registry));
  expect(r.a.tokens.length).toBeGreaterThan(0);
  expect(r.b.tokens).toEqual(r.a.tokens);
  expect(r.c.tokens).not.toEqual(r.a.tokens);
  expect(r.viaChunks.tokens).toEqual(r.a.tokens);
  expect(r.stopAt.length).toBe(3);
  expect(r.stopped.finishReason).toBe('stop');
  expect(r.stopped.text).toBe(r.greedy.text.slice(0, r.greedy.text.indexOf(r.stopAt)));
  const manifest = JSON.parse(readFileSync(path.join(REPO, '.tmp/e2e-registry/v1/models/tiny-gpt-chunked/versions/1.0.0.json'), 'utf8')) as { variants: { float32: { files: Array<{ path: string; size: number }> } } };
  const parts = manifest.variants.float32.files.filter((f) => f.path.startsWith('model.safetensors.part-'));
  expect(parts.length).toBeGreaterThan(1);
  expect(Math.max(...parts.map((f) => f.size))).toBeLessThanOrEqual(1024 * 1024);
});

test('abort stops within one token and frees everything; concurrent generations are queued and never share state; memory stays flat', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const lm = await client.load('tiny-gpt', { task: 'text-generation' });
    await lm.generateText('warm up', { maxTokens: 4, seed: 1 });
    const baseMem = await client.memory();
    const base = baseMem.numTensors + baseMem.engineBytes;
    // Abort after the first streamed chunk.
    const ac = new AbortController();
    const stream = lm.generate('Once upon a time', { maxTokens: 200, seed: 3, streamTokens: 1, streamMs: 0, signal: ac.signal });
    let seen = 0;
    for await (const _ of stream) {
      seen++;
      ac.abort();
    }
    const aborted = await stream.result;
    const memAbort = await client.memory();
    const afterAbort = memAbort.numTensors + memAbort.engineBytes;
    // Leaving the loop early (break) also stops the generation.
    const s2 = lm.generate('Once upon a time', { maxTokens: 200, seed: 3, streamTokens: 1, streamMs: 0 });
    for await (const _ of s2) break;
    const broken = await s2.result;
    // Three generations at once on one model: each equals its run alone.
    const prompts = ['Love is', 'The computer', 'Q: Why?'];
    const alone = [];
    for (const p of prompts) alone.push((await lm.generateText(p, { temperature: 0, maxTokens: 24 })).tokens);
    const together = (await Promise.all(prompts.map((p) => lm.generateText(p, { temperature: 0, maxTokens: 24 })))).map((x) => x.tokens);
    const queued = await Promise.all(prompts.map((p) => lm.generateText(p, { temperature: 0, maxTokens: 24 })));
    for (let i = 0; i < 5; i++) await lm.generateText('Once upon', { maxTokens: 30, seed: i });
    const memMany = await client.memory();
    const afterMany = memMany.numTensors + memMany.engineBytes;
    await lm.dispose();
    const afterDispose = await client.memory();
    await client.dispose();
    return { seen, aborted, afterAbort, broken, base, baseMem, alone, together, queuedMs: queued.map((q) => q.queuedMs), afterMany, afterDispose };
  }, registryUrl(registry));
  expect(r.aborted.finishReason).toBe('abort');
  expect(r.aborted.tokens.length).toBeLessThanOrEqual(2);
  expect(r.seen).toBe(r.aborted.tokens.length);
  expect(r.broken.finishReason).toBe('abort');
  expect(r.broken.tokens.length).toBeLessThanOrEqual(3);
  expect(r.afterAbort).toBe(r.base);
  expect(r.together).toEqual(r.alone);
  expect(r.queuedMs[2]).toBeGreaterThan(0);
  expect(r.afterMany).toBe(r.base);
  expect(r.afterDispose.models).toBe(0);
  // On WASM the model runs on webinfer's engine: its weights (≈15 MB for tiny-gpt) leave the engine's memory on dispose.
  expect(r.baseMem.engineBytes).toBeGreaterThan(10_000_000);
  expect(r.afterDispose.numTensors + r.afterDispose.engineBytes).toBeLessThan(r.base);
  expect(r.afterDispose.engineBytes).toBeLessThan(1_000_000);
  expect(r.afterDispose.engineHeapBytes).toBeGreaterThanOrEqual(r.baseMem.engineBytes);
});

test('bad input gets typed errors: context overflow, bad options, a classifier loaded as text-generation', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, n }) => {
      const client = window.webinfer.createClient({ registry, backend: 'wasm' });
      const lm = await client.load('tiny-gpt', { task: 'text-generation' });
      const res = {
        overflow: await window.util.attempt(() => lm.generateText('word '.repeat(n + 5))),
        badTemp: await window.util.attempt(() => lm.generateText('x', { temperature: -1 })),
        badPrompt: await window.util.attempt(() => lm.generateText(42 as never)),
        mismatch: await window.util.attempt(() => client.load('tiny-cnn', { task: 'text-generation' })),
        stillWorks: (await lm.generateText('The', { temperature: 0, maxTokens: 5 })).tokens.length,
      };
      await client.dispose();
      return res;
    },
    { registry: registryUrl(registry), n: config.n_positions },
  );
  const err = (x: { ok: boolean; error?: { name?: string; fields?: Record<string, unknown> | null } }) => (x.ok ? undefined : x.error);
  expect(err(r.overflow)).toMatchObject({ name: 'InvalidInputError', fields: { reason: 'context-overflow', field: 'prompt' } });
  expect(err(r.badTemp)).toMatchObject({ name: 'InvalidInputError', fields: { field: 'temperature' } });
  expect(err(r.badPrompt)).toMatchObject({ name: 'InvalidInputError', fields: { field: 'prompt' } });
  expect(err(r.mismatch)).toMatchObject({ name: 'TaskMismatchError', fields: { expected: 'text-generation', actual: 'image-classification' } });
  expect(r.stillWorks).toBe(5);
});

test('useCache: false recomputes the whole sequence at every step and gives the same greedy tokens as the KV cache', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const lm = await client.load('tiny-gpt', { task: 'text-generation' });
    const out = [];
    for (const prompt of ['Once upon a time', 'Q: What is love?\nA:']) {
      const cached = await lm.generateText(prompt, { temperature: 0, maxTokens: 24, stopAtEos: false });
      const held = (m: { numTensors: number; engineBytes: number }): number => m.numTensors + m.engineBytes;
      const base = held(await client.memory());
      const uncached = await lm.generateText(prompt, { temperature: 0, maxTokens: 24, stopAtEos: false, useCache: false });
      out.push({ cached: cached.tokens, uncached: uncached.tokens, text: [cached.text, uncached.text], leak: held(await client.memory()) - base });
    }
    await client.dispose();
    return out;
  }, registryUrl(registry));
  for (const p of r) {
    expect(p.cached).toHaveLength(24);
    expect(p.uncached).toEqual(p.cached);
    expect(p.text[1]).toBe(p.text[0]);
    expect(p.leak).toBe(0);
  }
});
