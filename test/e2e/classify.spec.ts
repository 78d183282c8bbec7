import { expect, registryUrl, test } from './fixtures.js';
import { pattern, tinyCnnReference } from './reference.js';

test.describe('classify on WASM (browser without WebGPU)', () => {
  test('tiny-cnn: top-k labels and scores equal plain tfjs in Node', async ({ open, registry }) => {
    const page = await open();
    const reference = await tinyCnnReference(pattern(28, 28, 1), 1);
    const result = await page.evaluate(async (registry) => {
      const { createClient } = window.webinfer;
      const client = createClient({ registry, backend: 'wasm' });
      const model = await client.load('tiny-cnn@stable', { task: 'image-classification' });
      const top = await model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 10 });
      const info = { ...model.info };
      const backend = client.backend;
      await client.dispose();
      return { top, info, backend };
    }, registryUrl(registry));
    expect(result.backend?.name).toBe('wasm');
    expect(result.info.id).toBe('tiny-cnn');
    expect(result.info.version).toBe('1.0.0');
    expect(result.top).toHaveLength(10);
    const order = reference.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i);
    expect(result.top.map((p) => p.index)).toEqual(order.map((o) => o.i));
    for (const p of result.top) {
      expect(Math.abs(p.score - (reference[p.index] as number))).toBeLessThan(1e-5);
      expect(p.label).toBe(result.info.labels[p.index]);
    }
  });
});

test('every input type gives the same prediction as the raw RGBA pixels and as plain tfjs', async ({ open, registry }) => {
  const page = await open();
  const reference = await tinyCnnReference(pattern(28, 28, 4), 4);
  const results = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const model = await client.load('tiny-cnn', { task: 'image-classification' });
    const inputs = await window.util.allInputs(28, 28);
    const out: Record<string, { index: number; score: number }[]> = {};
    for (const [name, input] of Object.entries(inputs)) {
      out[name] = (await model.classify(input as never, { topK: 10 })).map((p) => ({ index: p.index, score: p.score }));
    }
    // The caller's objects stay usable: nothing of theirs was detached or closed.
    const intact = {
      imageData: (inputs['imageData'] as ImageData).data.length === 28 * 28 * 4,
      bitmap: (inputs['bitmap'] as ImageBitmap).width === 28,
      raw: (inputs['raw'] as { data: Uint8ClampedArray }).data.length === 28 * 28 * 4,
    };
    await client.dispose();
    return { out, intact };
  }, registryUrl(registry));
  expect(Object.keys(results.out).sort()).toEqual(['bitmap', 'blob', 'canvas', 'file', 'imageData', 'img', 'offscreen', 'raw']);
  expect(results.intact).toEqual({ imageData: true, bitmap: true, raw: true });
  for (const [name, preds] of Object.entries(results.out)) {
    for (const p of preds) expect(Math.abs(p.score - (reference[p.index] as number)), `${name} index ${p.index}`).toBeLessThan(1e-5);
  }
});

test('transfer: true hands over the caller\'s buffer (zero-copy) and still classifies', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const model = await client.load('tiny-cnn', { task: 'image-classification' });
    const data = window.util.pattern(28, 28, 1);
    const top = await model.classify({ data, width: 28, height: 28, channels: 1 }, { topK: 1, transfer: true });
    const detached = data.byteLength === 0;
    await client.dispose();
    return { top, detached };
  }, registryUrl(registry));
  expect(r.detached).toBe(true);
  expect(r.top).toHaveLength(1);
});

test('a real graph model (emotion, MIT) loads through the same verified IOHandler and classifies', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const model = await client.load('emotion@stable', { task: 'image-classification' });
    // A 96×96 RGB input: resized to 64×64 and turned to grayscale in the worker, as the manifest says.
    const top = await model.classify({ data: window.util.pattern(96, 96, 3), width: 96, height: 96, channels: 3 }, { topK: 7 });
    const info = { ...model.info };
    await client.dispose();
    return { top, info };
  }, registryUrl(registry));
  expect(r.info.format).toBe('tfjs-graph');
  expect(r.info.labels).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
  expect(r.top).toHaveLength(7);
  const sum = r.top.reduce((s, p) => s + p.score, 0);
  expect(Math.abs(sum - 1)).toBeLessThan(1e-4);
  for (let i = 1; i < r.top.length; i++) expect(r.top[i - 1]!.score).toBeGreaterThanOrEqual(r.top[i]!.score);
});

test('client.classify() loads once and reuses the model; progress reaches the total', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const progress: { loaded: number; total: number; file: string }[] = [];
    const img = { data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 as const };
    const a = await client.classify('tiny-cnn', img, { topK: 3, onProgress: (p) => progress.push({ loaded: p.loaded, total: p.total, file: p.file }) });
    const b = await client.classify('tiny-cnn', img, { topK: 3 });
    const mem = await client.memory();
    await client.dispose();
    return { a, b, progress, models: mem.models };
  }, registryUrl(registry));
  expect(r.a).toEqual(r.b);
  expect(r.models).toBe(1);
  expect(r.progress.length).toBeGreaterThanOrEqual(2);
  const last = r.progress.at(-1)!;
  expect(last.loaded).toBe(last.total);
  expect(last.total).toBeGreaterThan(1000);
  for (let i = 1; i < r.progress.length; i++) expect(r.progress[i]!.loaded).toBeGreaterThanOrEqual(r.progress[i - 1]!.loaded);
});

test("client.classify(): one caller's signal aborts only its own call, not the load another caller shares", async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const img = () => ({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 as const });
    const first = new AbortController();
    const a = window.util.attempt(() => client.classify('tiny-cnn', img(), { topK: 1, signal: first.signal }));
    const b = window.util.attempt(() => client.classify('tiny-cnn', img(), { topK: 1 }));
    first.abort('first caller left');
    const [ra, rb] = await Promise.all([a, b]);
    // Every caller gives up: the shared load is abandoned, and the next call starts a new one.
    const c1 = new AbortController();
    const c2 = new AbortController();
    const other = window.webinfer.createClient({ registry, backend: 'wasm', cacheName: 'shared-load-abort' });
    const both = Promise.all([
      window.util.attempt(() => other.classify('tiny-cnn', img(), { signal: c1.signal })),
      window.util.attempt(() => other.classify('tiny-cnn', img(), { signal: c2.signal })),
    ]);
    c1.abort();
    c2.abort();
    const [rc1, rc2] = await both;
    const again = await window.util.attempt(() => other.classify('tiny-cnn', img(), { topK: 1 }));
    await client.dispose();
    await other.dispose();
    return { ra, rb, rc1, rc2, again };
  }, registryUrl(registry));
  expect(r.ra).toMatchObject({ ok: false, error: { name: 'AbortError', instanceOfOwnClass: true } });
  expect(r.rb, JSON.stringify(r.rb)).toMatchObject({ ok: true });
  if (r.rb.ok) expect(r.rb.value[0]).toMatchObject({ label: expect.any(String), score: expect.any(Number) });
  expect(r.rc1).toMatchObject({ ok: false, error: { name: 'AbortError' } });
  expect(r.rc2).toMatchObject({ ok: false, error: { name: 'AbortError' } });
  expect(r.again, JSON.stringify(r.again)).toMatchObject({ ok: true });
});
