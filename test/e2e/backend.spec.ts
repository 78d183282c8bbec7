/**
 * Backend choice on a browser without WebGPU: what `auto` picks and why, forced
 * backends, and WASM threads under cross-origin isolation.
 */
import { expect, registryUrl, test } from './fixtures.js';

test('auto without WebGPU picks WASM with SIMD, and says why WebGPU and CPU were not chosen', async ({ open, registry }) => {
  const page = await open();
  const info = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry });
    const b = await client.ready();
    await client.dispose();
    return b;
  }, registryUrl(registry));
  expect(info.name).toBe('wasm');
  expect(info.simd).toBe(true);
  expect(info.threads).toBe(false);
  expect(info.crossOriginIsolated).toBe(false);
  expect(info.reason).toMatch(/WASM with SIMD, single-threaded: the page is not cross-origin isolated/);
  expect(info.rejected.map((r) => r.name)).toEqual(['webgpu', 'cpu']);
  expect(info.rejected[0]!.reason).toMatch(/requestAdapter\(\) returned null|navigator\.gpu is undefined/);
  expect(info.rejected[1]!.reason).toMatch(/lower priority than wasm/);
  expect(info.selfTest.maxError).toBeLessThan(1e-5);
});

test('forcing WebGPU where it is unavailable fails with BackendUnavailableError (no silent fallback)', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'webgpu' });
    const res = await window.util.attempt(() => client.load('tiny-cnn'));
    await client.dispose();
    return res;
  }, registryUrl(registry));
  expect(r).toMatchObject({ ok: false, error: { name: 'BackendUnavailableError', code: 'BACKEND_UNAVAILABLE', fields: { backend: 'webgpu' } } });
});

test('forced CPU runs and gives the same scores as WASM', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const run = async (backend: 'cpu' | 'wasm') => {
      const client = window.webinfer.createClient({ registry, backend });
      const model = await client.load('tiny-cnn', { task: 'image-classification' });
      const top = await model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 10 });
      const name = client.backend?.name;
      await client.dispose();
      return { top, name };
    };
    return { cpu: await run('cpu'), wasm: await run('wasm') };
  }, registryUrl(registry));
  expect(r.cpu.name).toBe('cpu');
  expect(r.cpu.top.map((p) => p.index)).toEqual(r.wasm.top.map((p) => p.index));
  r.cpu.top.forEach((p, i) => expect(Math.abs(p.score - r.wasm.top[i]!.score)).toBeLessThan(1e-5));
});

test('cross-origin isolated page: WASM runs one XNNPACK thread per logical core, and wasmThreads is honoured', async ({ open, registry }) => {
  const page = await open({ coi: true });
  const r = await page.evaluate(async (registry) => {
    const run = async (wasmThreads?: number) => {
      const client = window.webinfer.createClient({ registry, ...(wasmThreads ? { wasmThreads } : {}) });
      const b = await client.ready();
      const model = await client.load('tiny-cnn', { task: 'image-classification' });
      const top = await model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 1 });
      await client.dispose();
      return { b, top };
    };
    return { auto: await run(), one: await run(1), isolated: crossOriginIsolated, cores: navigator.hardwareConcurrency };
  }, registryUrl(registry));
  expect(r.isolated).toBe(true);
  expect(r.auto.b.name).toBe('wasm');
  expect(r.auto.b.threads).toBe(true);
  // Plain tfjs 4.22 would run floor(cores / 2) threads here (tfjs#8513); the patched glue runs one per core.
  expect(r.auto.b.threadCount).toBe(Math.min(8, Math.max(1, r.cores)));
  expect(r.auto.b.reason).toMatch(r.auto.b.threadCount > 1 ? new RegExp(`${r.auto.b.threadCount} threads \\(page is cross-origin isolated\\)`) : /runs 1 thread/);
  expect(r.one.b.threadCount).toBe(1);
  expect(r.one.b.reason).toMatch(/runs 1 thread/);
  expect(r.auto.top).toHaveLength(1);
  expect(r.one.top[0]!.index).toBe(r.auto.top[0]!.index);
  expect(Math.abs(r.one.top[0]!.score - r.auto.top[0]!.score)).toBeLessThan(1e-5);
});
