/**
 * The worker's life: crashes reject every pending call and the next call starts a
 * new worker; memory stays flat over many calls and returns on dispose().
 */
import { expect, registryUrl, test } from './fixtures.js';

test('a worker that throws rejects every pending call with WorkerCrashedError, and the next call recovers', async ({ open, registry }) => {
  const page = await open();
  registry.faults.slowMs = 100;
  registry.faults.slowChunk = 1024;
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true });
    await client.ready();
    // Two loads are in flight (slow downloads) when the worker dies.
    const pending = [window.util.attempt(() => client.load('tiny-cnn@stable')), window.util.attempt(() => client.load('emotion'))];
    await new Promise((res) => setTimeout(res, 300));
    client.debug.crashWorker('throw');
    const results = await Promise.all(pending);
    return { results };
  }, registryUrl(registry));
  for (const res of r.results) {
    expect(res).toMatchObject({ ok: false, error: { name: 'WorkerCrashedError', code: 'WORKER_CRASHED', instanceOfOwnClass: true } });
  }
  registry.faults.slowMs = 0;
  const after = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true });
    const model = await client.load('tiny-cnn@stable', { task: 'image-classification' });
    const before = await model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 3 });
    // Crash while idle: the model handle transparently reloads (from the cache) in the new worker.
    client.debug.crashWorker('throw');
    await new Promise((res) => setTimeout(res, 200));
    const again = await model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 3 });
    await client.dispose();
    return { before, again };
  }, registryUrl(registry));
  expect(after.again).toEqual(after.before);
});

test('a worker that goes silent (closed) is detected by heartbeats; pending calls reject, the next one works', async ({ open, registry }) => {
  const page = await open();
  registry.faults.slowMs = 200;
  registry.faults.slowChunk = 512;
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true, unresponsiveTimeoutMs: 1500 });
    await client.ready();
    const pending = window.util.attempt(() => client.load('tiny-cnn'));
    await new Promise((res) => setTimeout(res, 200));
    const t0 = performance.now();
    client.debug.crashWorker('close');
    const res = await pending;
    const detectedAfterMs = performance.now() - t0;
    return { res, detectedAfterMs };
  }, registryUrl(registry));
  expect(r.res).toMatchObject({ ok: false, error: { name: 'WorkerCrashedError' } });
  expect(r.detectedAfterMs).toBeLessThan(5000);
  registry.faults.slowMs = 0;
  const ok = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const m = await client.load('tiny-cnn', { task: 'image-classification' });
    const top = await m.classify({ data: new Uint8Array(784), width: 28, height: 28, channels: 1 }, { topK: 1 });
    await client.dispose();
    return top.length;
  }, registryUrl(registry));
  expect(ok).toBe(1);
});

test('a worker script that cannot load fails the call with WorkerCrashedError instead of hanging', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({
      registry,
      createWorker: () => new Worker(new URL('/dist/assets/no-such-worker.js', location.href), { type: 'module' }),
    });
    const res = await window.util.attempt(() => client.ready());
    await client.dispose();
    return res;
  }, registryUrl(registry));
  expect(r).toMatchObject({ ok: false, error: { name: 'WorkerCrashedError' } });
});

test('no tensor leak: tf.memory() stays flat over 200 classify calls and dispose() brings it back', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    await client.ready();
    const empty = await client.memory();
    const model = await client.load('tiny-cnn', { task: 'image-classification' });
    const graph = await client.load('emotion', { task: 'image-classification' });
    const img = { data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 as const };
    await model.classify(img);
    await graph.classify(img);
    const warm = await client.memory();
    for (let i = 0; i < 200; i++) {
      await model.classify({ ...img, data: img.data.slice() });
      if (i % 20 === 0) await graph.classify({ ...img, data: img.data.slice() });
    }
    // Failing calls must not leak either.
    for (let i = 0; i < 20; i++) await window.util.attempt(() => model.classify({ ...img, data: new Float32Array(784).fill(NaN) }));
    const after = await client.memory();
    await model.dispose();
    await graph.dispose();
    const disposed = await client.memory();
    await client.dispose();
    return { empty, warm, after, disposed };
  }, registryUrl(registry));
  expect(r.warm.numTensors).toBeGreaterThan(r.empty.numTensors);
  expect(r.after.numTensors).toBe(r.warm.numTensors);
  expect(r.after.numBytes).toBe(r.warm.numBytes);
  expect(r.disposed.numTensors).toBe(r.empty.numTensors);
  expect(r.disposed.numBytes).toBe(r.empty.numBytes);
  expect(r.disposed.models).toBe(0);
});

test('after a crash, a model reloads the same weights variant from the cache: no blob request', async ({ open, registry }) => {
  const page = await open();
  const first = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true });
    const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification', dtype: 'uint8' });
    (window as unknown as { held: unknown }).held = { model, client };
    const top = await model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 3 });
    return { top, dtype: model.info.dtype };
  }, registryUrl(registry));
  expect(first.dtype).toBe('uint8');
  const blobsBefore = registry.blobHits();
  const again = await page.evaluate(async () => {
    const { model, client } = (window as unknown as { held: { model: import('../../src/index.js').Classifier; client: import('../../src/index.js').WebInferClient } }).held;
    client.debug.crashWorker('throw');
    await new Promise((res) => setTimeout(res, 200));
    // The same handle, now served by a new worker: it reloads its pinned version and variant.
    const top = await model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 3 });
    await client.dispose();
    return top;
  });
  expect(again).toEqual(first.top);
  expect(registry.blobHits()).toBe(blobsBefore);
});
