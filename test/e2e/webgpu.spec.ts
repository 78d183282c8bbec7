/**
 * Runs in the `webgpu` project: Chromium with --enable-unsafe-webgpu, which on this
 * machine exposes a *software* adapter (SwiftShader). WebGPU tests check correctness;
 * speed figures come from WASM.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, registryUrl, test } from './fixtures.js';
import { REPO } from './server.js';

test('auto with only a software adapter picks WASM and says why', async ({ open, registry }) => {
  const page = await open();
  const info = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry });
    const b = await client.ready();
    await client.dispose();
    return b;
  }, registryUrl(registry));
  expect(info.name).toBe('wasm');
  const webgpu = info.rejected.find((r) => r.name === 'webgpu');
  expect(webgpu?.reason).toMatch(/software adapter .*WASM is faster/);
});

test('allowSoftwareWebGPU lets auto pick the software adapter, after a passing self-test', async ({ open, registry }) => {
  const page = await open();
  const info = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, allowSoftwareWebGPU: true });
    const b = await client.ready();
    await client.dispose();
    return b;
  }, registryUrl(registry));
  expect(info.name).toBe('webgpu');
  expect(info.adapter?.isFallback).toBe(true);
  expect(info.reason).toMatch(/software adapter, as requested/);
  expect(info.selfTest.maxError).toBeLessThan(1e-3);
  expect(info.rejected.map((r) => r.name).sort()).toEqual(['cpu', 'wasm']);
});

test('classify on WebGPU (forced) matches WASM: same top label, scores within 1e-3, for a layers and a graph model', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const run = async (backend: 'webgpu' | 'wasm') => {
      const client = window.webinfer.createClient({ registry, backend });
      const tiny = await client.load('tiny-cnn', { task: 'image-classification' });
      const emotion = await client.load('emotion', { task: 'image-classification' });
      const a = await tiny.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 10 });
      const b = await emotion.classify({ data: window.util.pattern(64, 64, 3, 2), width: 64, height: 64, channels: 3 }, { topK: 7 });
      const info = client.backend;
      const mem = await client.memory();
      await client.dispose();
      return { a, b, name: info?.name, adapter: info?.adapter, tensors: mem.numTensors };
    };
    return { gpu: await run('webgpu'), wasm: await run('wasm') };
  }, registryUrl(registry));
  expect(r.gpu.name).toBe('webgpu');
  expect(r.gpu.adapter?.architecture).toBeTruthy();
  expect(r.wasm.name).toBe('wasm');
  for (const key of ['a', 'b'] as const) {
    expect(r.gpu[key][0]!.label).toBe(r.wasm[key][0]!.label);
    const byIndex = new Map(r.wasm[key].map((p) => [p.index, p.score]));
    for (const p of r.gpu[key]) expect(Math.abs(p.score - byIndex.get(p.index)!), `${key} ${p.label}`).toBeLessThan(1e-3);
  }
});

test('a lost WebGPU device (auto): the worker moves to WASM, retries the call, and reports the fallback', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, allowSoftwareWebGPU: true, debug: true });
    const model = await client.load('tiny-cnn', { task: 'image-classification' });
    const img = () => ({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 as const });
    const before = await model.classify(img(), { topK: 10 });
    const lost = await client.debug.loseWebGPUDevice();
    const after = await model.classify(img(), { topK: 10 });
    const backend = client.backend;
    const again = await model.classify(img(), { topK: 10 });
    await client.dispose();
    return { before, after, again, lost, backend };
  }, registryUrl(registry));
  expect(r.lost).toBe(true);
  expect(r.backend?.name).toBe('wasm');
  expect(r.backend?.fallbacks).toHaveLength(1);
  expect(r.backend?.fallbacks[0]).toMatchObject({ from: 'webgpu', to: 'wasm' });
  expect(r.backend?.fallbacks[0]!.reason).toMatch(/WebGPU device lost/);
  expect(r.after[0]!.index).toBe(r.before[0]!.index);
  r.after.forEach((p, i) => expect(Math.abs(p.score - r.before[i]!.score)).toBeLessThan(1e-3));
  expect(r.again).toEqual(r.after);
});

test('a WebGPU device lost in the middle of a call (auto): that call is retried once on WASM and succeeds', async ({ open, registry }) => {
  // SwiftShader compiles every shader on the CPU: on a loaded 2-core machine (load average 12) the
  // 20 s call limit was hit; the limit is not what this test is about.
  test.setTimeout(150_000);
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, allowSoftwareWebGPU: true, debug: true, callTimeoutMs: 60_000 });
    const model = await client.load('emotion', { task: 'image-classification' });
    const img = () => ({ data: window.util.pattern(64, 64, 1), width: 64, height: 64, channels: 1 as const });
    const before = await model.classify(img(), { topK: 7 });
    const armed = await client.debug.loseWebGPUDevice('during-next-run');
    const during = await window.util.attempt(() => model.classify(img(), { topK: 7 }));
    const backend = client.backend;
    await client.dispose();
    return { before, during, armed, backend };
  }, registryUrl(registry));
  expect(r.armed).toBe(true);
  expect(r.during, JSON.stringify(r.during)).toMatchObject({ ok: true });
  if (!r.during.ok) return;
  expect(r.backend?.name).toBe('wasm');
  expect(r.backend?.fallbacks[0]).toMatchObject({ from: 'webgpu', to: 'wasm' });
  expect(r.during.value[0]!.index).toBe(r.before[0]!.index);
  r.during.value.forEach((p, i) => expect(Math.abs(p.score - r.before.find((b) => b.index === p.index)!.score), `index ${i}`).toBeLessThan(1e-3));
});

test('a forced WebGPU backend never falls back: after a lost device it gets a new WebGPU device, rebuilds the model and says so', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'webgpu', debug: true });
    const model = await client.load('tiny-cnn', { task: 'image-classification' });
    const img = () => ({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 as const });
    const before = await model.classify(img(), { topK: 10 });
    const lost = await client.debug.loseWebGPUDevice();
    const after = await window.util.attempt(() => model.classify(img(), { topK: 10 }));
    const backend = client.backend;
    const live = await client.debug.loseWebGPUDevice('during-next-run');
    const during = await window.util.attempt(() => model.classify(img(), { topK: 10 }));
    const backend2 = client.backend;
    await client.dispose();
    return { before, after, lost, backend, live, during, backend2 };
  }, registryUrl(registry));
  expect(r.lost).toBe(true);
  expect(r.after, JSON.stringify(r.after)).toMatchObject({ ok: true });
  expect(r.backend?.name).toBe('webgpu');
  expect(r.backend?.fallbacks).toHaveLength(1);
  expect(r.backend?.fallbacks[0]).toMatchObject({ from: 'webgpu', to: 'webgpu' });
  expect(r.backend?.fallbacks[0]!.reason).toMatch(/WebGPU device lost.*new WebGPU device.*no fallback/);
  if (!r.after.ok || !r.during.ok) throw new Error(JSON.stringify(r));
  expect(r.after.value[0]!.index).toBe(r.before[0]!.index);
  r.after.value.forEach((p, i) => expect(Math.abs(p.score - r.before[i]!.score)).toBeLessThan(1e-3));
  // A second loss, in the middle of a call: that call is retried on the next new device.
  expect(r.live).toBe(true);
  expect(r.backend2?.name).toBe('webgpu');
  expect(r.backend2?.fallbacks.map((f) => `${f.from}>${f.to}`)).toEqual(['webgpu>webgpu', 'webgpu>webgpu']);
  expect(r.during.value).toEqual(r.after.value);
});

test('a device lost during generate(): the generation goes on on WASM with the same tokens, and client.backend is pushed without another call', async ({ open, registry }) => {
  test.setTimeout(150_000);
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const opts = { temperature: 0, maxTokens: 24, stopAtEos: false };
    const wasm = window.webinfer.createClient({ registry, backend: 'wasm' });
    const reference = await (await wasm.load('tiny-gpt', { task: 'text-generation' })).generateText('The meaning of', opts);
    await wasm.dispose();
    const client = window.webinfer.createClient({ registry, allowSoftwareWebGPU: true, debug: true, callTimeoutMs: 120_000 });
    const lm = await client.load('tiny-gpt', { task: 'text-generation' });
    const start = client.backend?.name;
    const armed = await client.debug.loseWebGPUDevice('during-next-run');
    const result = await window.util.attempt(() => lm.generateText('The meaning of', opts));
    const pushed = client.backend; // read right after generate resolved: no other call made
    await client.dispose();
    return { start, armed, result, pushed, reference };
  }, registryUrl(registry));
  expect(r.start).toBe('webgpu');
  expect(r.armed).toBe(true);
  expect(r.result, JSON.stringify(r.result)).toMatchObject({ ok: true });
  if (!r.result.ok) return;
  expect(r.result.value.backend).toBe('wasm');
  expect(r.pushed?.name).toBe('wasm');
  expect(r.pushed?.fallbacks[0]).toMatchObject({ from: 'webgpu', to: 'wasm' });
  expect(r.result.value.tokens).toEqual(r.reference.tokens);
});

test('WebGPU: no tensor leak over 200 calls', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'webgpu' });
    await client.ready();
    const empty = await client.memory();
    const model = await client.load('tiny-cnn', { task: 'image-classification' });
    const img = { data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 as const };
    await model.classify(img);
    const warm = await client.memory();
    for (let i = 0; i < 200; i++) await model.classify({ ...img, data: img.data.slice() });
    const after = await client.memory();
    await model.dispose();
    const disposed = await client.memory();
    await client.dispose();
    return { empty, warm, after, disposed };
  }, registryUrl(registry));
  expect(r.after.numTensors).toBe(r.warm.numTensors);
  expect(r.disposed.numTensors).toBe(r.empty.numTensors);
});

// --- text generation (tiny-gpt): the same PyTorch parity vectors as generate.spec.ts on WASM ---------------
// Last in this file, so the slow software-WebGPU decoding never runs beside the device-loss tests above.
interface GptParity {
  prompts: Array<{ text: string; ids: number[]; firstLogits: number[]; greedy: number[] }>;
}
const parity = JSON.parse(readFileSync(path.join(REPO, 'models/tiny-gpt/parity.json'), 'utf8')) as GptParity;


test('text generation on WebGPU matches PyTorch: first-step logits within 1e-2, greedy 64-token continuation identical, no leaked tensors', async ({ open, registry }) => {
  test.setTimeout(300_000);
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, prompts }) => {
      const client = window.webinfer.createClient({ registry, backend: 'webgpu', debug: true });
      const lm = await client.load('tiny-gpt@stable', { task: 'text-generation' });
      const base = (await client.memory()).numTensors;
      const out: Array<{ maxErr: number; tokens: readonly number[] | undefined; backend: string }> = [];
      for (const p of prompts) {
        const logits = await lm.debugLogits(p.ids);
        let maxErr = 0;
        for (let i = 0; i < logits.length; i++) maxErr = Math.max(maxErr, Math.abs((logits[i] as number) - (p.firstLogits[i] as number)));
        const res = await lm.generateText(p.text, { temperature: 0, maxTokens: 64, stopAtEos: false });
        out.push({ maxErr, tokens: res.tokens, backend: res.backend });
      }
      const after = (await client.memory()).numTensors;
      await client.dispose();
      return { out, base, after };
    },
    { registry: registryUrl(registry), prompts: parity.prompts },
  );
  r.out.forEach((o, i) => {
    const p = parity.prompts[i]!;
    expect(o.backend).toBe('webgpu');
    expect(o.maxErr, p.text).toBeLessThan(1e-2);
    expect(o.tokens, p.text).toEqual(p.greedy);
  });
  expect(r.after).toBe(r.base);
});

// --- Llama-family text models on WebGPU (tfjs ops): the same PyTorch reference as llama.spec.ts ------------
for (const name of ['llama-tiny', 'qwen2-tiny']) {
  const lp = JSON.parse(readFileSync(path.join(REPO, 'models', name, 'parity.json'), 'utf8')) as {
    prompts: Array<{ ids: number[]; firstLogits: number[] }>;
    generations: Array<{ text: string; greedy: number[]; minMargin: number }>;
  };
  test(`${name} on WebGPU matches PyTorch: first-step logits within 1e-2, greedy generations identical where no step is a near tie, no leaked tensors`, async ({ open, registry }) => {
    test.setTimeout(300_000);
    const page = await open();
    // Steps whose top two logits are within 1e-2 may go either way at WebGPU's precision.
    const gens = lp.generations.filter((g) => g.minMargin > 1e-2);
    const r = await page.evaluate(
      async ({ registry, name, prompts, gens }) => {
        const client = window.webinfer.createClient({ registry, backend: 'webgpu', debug: true });
        const lm = await client.load(`${name}@stable`, { task: 'text-generation', dtype: 'float32' });
        const base = (await client.memory()).numTensors;
        const errs: number[] = [];
        for (const p of prompts) {
          const logits = await lm.debugLogits(p.ids);
          let maxErr = 0;
          for (let i = 0; i < logits.length; i++) maxErr = Math.max(maxErr, Math.abs((logits[i] as number) - (p.firstLogits[i] as number)));
          errs.push(maxErr);
        }
        const tokens = [];
        for (const g of gens) tokens.push((await lm.generateText(g.text, { temperature: 0, maxTokens: 32, stopAtEos: false })).tokens);
        const runtime = lm.info.runtime;
        const int8 = await window.util.attempt(() => client.load(`${name}@stable`, { task: 'text-generation', dtype: 'int8' }));
        const after = (await client.memory()).numTensors;
        await client.dispose();
        return { errs, tokens, runtime, base, after, int8 };
      },
      { registry: registryUrl(registry), name, prompts: lp.prompts, gens },
    );
    expect(r.runtime).toBe('tfjs (webgpu)');
    r.errs.forEach((e) => expect(e).toBeLessThan(1e-2));
    expect(gens.length).toBeGreaterThanOrEqual(2);
    r.tokens.forEach((t, i) => expect(t, gens[i]!.text).toEqual(gens[i]!.greedy));
    expect(r.after).toBe(r.base);
    if (name === 'llama-tiny') {
      // int8 weights are the engine's: on WebGPU a typed error, not a crash.
      expect(r.int8.ok).toBe(false);
      if (!r.int8.ok) expect(r.int8.error.fields?.reason).toBe('dtype-unsupported');
    }
  });
}
