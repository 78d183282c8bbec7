/**
 * Micro-batching of concurrent classify() calls (issue 6): concurrent calls on one model
 * cross as one message and run as one batch, with results identical to lone calls; each
 * call keeps its own errors, abort, time limit; crashes fail pending calls as before.
 */
import { expect, registryUrl, test } from './fixtures.js';
import { expected, images } from './fashion.js';

const b64 = images.subarray(0, 64 * 784).toString('base64');
type Row = { index: number; score: number }[];

test('64 concurrent calls: one message, one batch, results identical to sequential lone calls; batching: false runs them one by one', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, b64 }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const img = (i: number) => ({ data: bytes.slice(i * 784, (i + 1) * 784), width: 28, height: 28, channels: 1 as const });
      const rows = (top: { index: number; score: number }[]) => top.map((p) => ({ index: p.index, score: p.score }));
      const out: Record<string, unknown> = {};
      for (const mode of ['on', 'off'] as const) {
        const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true, ...(mode === 'off' ? { batching: false } : {}) });
        const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification', dtype: 'float32' });
        const sequential: Row[] = [];
        for (let i = 0; i < 64; i++) sequential.push(rows(await model.classify(img(i), { topK: 10 })));
        const warm = await client.memory();
        const before = (await client.debug.batchStats())!;
        const concurrent = (await Promise.all(Array.from({ length: 64 }, (_, i) => model.classify(img(i), { topK: 10 })))).map(rows);
        const after = (await client.debug.batchStats())!;
        // topK per call inside one batch.
        const mixed = await Promise.all([1, 3, 10].map((k, i) => model.classify(img(i), { topK: k })));
        const mem = await client.memory();
        await client.dispose();
        out[mode] = {
          sequential,
          concurrent,
          mixedLengths: mixed.map((m) => m.length),
          sequentialStats: before,
          messages: after.messages - before.messages,
          batches: after.batches - before.batches,
          images: after.images - before.images,
          largest: after.largest,
          warm,
          mem,
        };
      }
      return out as Record<'on' | 'off', { sequential: Row[]; concurrent: Row[]; mixedLengths: number[]; sequentialStats: { batches: number; largest: number }; messages: number; batches: number; images: number; largest: number; warm: { numTensors: number; numBytes: number }; mem: { numTensors: number; numBytes: number } }>;
    },
    { registry: registryUrl(registry), b64 },
  );
  // Batching on: the 64 calls crossed as one message and ran as one batch of 64.
  expect(r.on.messages).toBe(1);
  expect(r.on.batches).toBe(1);
  expect(r.on.images).toBe(64);
  expect(r.on.largest).toBe(64);
  // Sequential calls ran alone (64 warm-up runs of 1, after the load).
  expect(r.on.sequentialStats.largest).toBe(1);
  // Off: one message and one run per call.
  expect(r.off.messages).toBe(64);
  expect(r.off.batches).toBe(64);
  expect(r.off.largest).toBe(1);
  for (const mode of ['on', 'off'] as const) {
    // Bit-identical on WASM: every score of every image, batched or not.
    expect(r[mode].concurrent).toEqual(r[mode].sequential);
    expect(r[mode].mixedLengths).toEqual([1, 3, 10]);
    expect(r[mode].mem.numTensors).toBe(r[mode].warm.numTensors);
    expect(r[mode].mem.numBytes).toBe(r[mode].warm.numBytes);
  }
  expect(r.on.sequential).toEqual(r.off.sequential);
  // And they are the model's real outputs: PyTorch's probabilities for these 64 images, within 1e-3.
  r.on.concurrent.forEach((row, i) => {
    expect(row[0]!.index, `image ${i}`).toBe(expected.predictions[i]);
    for (const p of row) expect(Math.abs(p.score - expected.probabilities[i]![p.index]!), `image ${i} class ${p.index}`).toBeLessThan(1e-3);
  });
});

test('a bad input in the middle of a batch fails only itself; other sizes join the batch; an aborted call is never sent; a buffer handed over twice fails the second call only', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, b64 }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const img = (i: number) => ({ data: bytes.slice(i * 784, (i + 1) * 784), width: 28, height: 28, channels: 1 as const });
      const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true });
      const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification', dtype: 'float32' });
      const alone: { index: number; score: number }[][] = [];
      for (let i = 0; i < 64; i++) alone.push((await model.classify(img(i), { topK: 3 })).map((p) => ({ index: p.index, score: p.score })));
      const big = { data: window.util.pattern(56, 56, 4), width: 56, height: 56, channels: 4 as const };
      const bigAlone = await model.classify(big, { topK: 3 });
      const warm = await client.memory();
      const before = (await client.debug.batchStats())!;
      const abort = new AbortController();
      const shared = img(30).data;
      const calls = Array.from({ length: 64 }, (_, i) => {
        // Two calls hand over the same buffer: the second one fails alone (it could not be posted twice).
        if (i === 30 || i === 31) return model.classify({ data: shared, width: 28, height: 28, channels: 1 }, { topK: 3, transfer: true });
        if (i === 20) return model.classify({ data: new Float32Array(784).fill(NaN), width: 28, height: 28, channels: 1 }); // fails on the main thread
        if (i === 40) return model.classify(new Blob([new Uint8Array([1, 2, 3, 4])], { type: 'image/png' })); // fails in the worker (undecodable)
        if (i === 50) return model.classify(img(i), { topK: 3, signal: abort.signal });
        if (i === 60 || i === 61) return model.classify({ ...big, data: big.data.slice() }, { topK: 3 }); // a stack of two 56×56 RGBA
        return model.classify(img(i), { topK: 3 });
      });
      abort.abort();
      const settled = await Promise.all(calls.map((c) => window.util.attempt(() => c)));
      const after = (await client.debug.batchStats())!;
      const mem = await client.memory();
      await client.dispose();
      return {
        alone,
        bigAlone,
        settled: settled.map((s) => (s.ok ? { ok: true as const, value: s.value.map((p) => ({ index: p.index, score: p.score })) } : s)),
        images: after.images - before.images,
        messages: after.messages - before.messages,
        warm,
        mem,
      };
    },
    { registry: registryUrl(registry), b64 },
  );
  expect(r.settled[30]).toEqual({ ok: true, value: r.alone[30] });
  expect(r.settled[31]).toMatchObject({ ok: false, error: { name: 'InvalidInputError', fields: { reason: 'duplicate-transfer' } } });
  expect(r.settled[20]).toMatchObject({ ok: false, error: { name: 'InvalidInputError', fields: { reason: 'not-finite' } } });
  expect(r.settled[40]).toMatchObject({ ok: false, error: { name: 'InvalidInputError', instanceOfOwnClass: true, fields: { reason: 'undecodable' } } });
  expect(r.settled[50]).toMatchObject({ ok: false, error: { name: 'AbortError', code: 'ABORTED' } });
  expect(r.settled[60]).toEqual({ ok: true, value: r.bigAlone.map((p) => ({ index: p.index, score: p.score })) });
  expect(r.settled[61]).toEqual(r.settled[60]);
  r.settled.forEach((s, i) => {
    if (![20, 30, 31, 40, 50, 60, 61].includes(i)) expect(s, `call ${i}`).toEqual({ ok: true, value: r.alone[i] });
  });
  // One message: 61 calls (the NaN one never left the main thread, the aborted one was dropped
  // before sending, the second user of the shared buffer too); the undecodable Blob failed in
  // the worker before the run.
  expect(r.messages).toBe(1);
  expect(r.images).toBe(60);
  expect(r.mem).toEqual(r.warm);
});

test('calls arriving in separate messages while the model is busy run together; a call that times out while queued fails alone', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, b64 }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const img = (i: number) => ({ data: bytes.slice((i % 64) * 784, ((i % 64) + 1) * 784), width: 28, height: 28, channels: 1 as const });
      const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true, batching: { maxBatch: 256 } });
      const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification', dtype: 'float32' });
      const expected = await model.classify(img(5), { topK: 2 });
      const before = (await client.debug.batchStats())!;
      // One message of 256 keeps the worker busy; meanwhile 8 more calls cross as 8 messages.
      const first = Promise.all(Array.from({ length: 256 }, (_, i) => model.classify(img(i), { topK: 2 })));
      const hop = () => new Promise<void>((res) => { const c = new MessageChannel(); c.port1.onmessage = () => { c.port1.close(); res(); }; c.port2.postMessage(null); });
      const later: Promise<unknown>[] = [];
      for (let i = 0; i < 8; i++) {
        await hop();
        later.push(model.classify(img(5), { topK: 2 }));
      }
      const timedOut = window.util.attempt(() => model.classify(img(5), { topK: 2, timeoutMs: 1 }));
      const [all, rest, late] = await Promise.all([first, Promise.all(later), timedOut]);
      const after = (await client.debug.batchStats())!;
      await client.dispose();
      return { expected, firstCount: all.length, rest, late, messages: after.messages - before.messages, batches: after.batches - before.batches, sizes: after.sizes };
    },
    { registry: registryUrl(registry), b64 },
  );
  expect(r.firstCount).toBe(256);
  for (const res of r.rest) expect(res).toEqual(r.expected);
  expect(r.late).toMatchObject({ ok: false, error: { name: 'TimeoutError', code: 'TIMEOUT' } });
  // The 256, seven lone later calls, and the eighth sharing its tick (one message) with the timed-out one.
  expect(r.messages).toBe(9);
  // Calls that arrived in separate messages during the 256-run ran together: fewer runs than messages.
  expect(r.batches).toBeLessThan(r.messages);
  expect(r.sizes[256]).toBe(1);
});

test('a worker that dies with batches queued fails the pending calls with WorkerCrashedError; the next batch works', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, b64 }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const img = (i: number) => ({ data: bytes.slice((i % 64) * 784, ((i % 64) + 1) * 784), width: 28, height: 28, channels: 1 as const });
      const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true, unresponsiveTimeoutMs: 1500 });
      const model = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification', dtype: 'float32' });
      const expected = await Promise.all(Array.from({ length: 64 }, (_, i) => model.classify(img(i), { topK: 1 })));
      // Four messages of 64; the worker closes itself after the first batch: the other three never run.
      const calls = Array.from({ length: 256 }, (_, i) => window.util.attempt(() => model.classify(img(i), { topK: 1 })));
      await new Promise((res) => setTimeout(res, 0));
      client.debug.crashWorker('close');
      const settled = await Promise.all(calls);
      const again = await Promise.all(Array.from({ length: 64 }, (_, i) => model.classify(img(i), { topK: 1 })));
      const stats = (await client.debug.batchStats())!;
      await client.dispose();
      return { expected, settled, again, stats };
    },
    { registry: registryUrl(registry), b64 },
  );
  const crashed = r.settled.filter((s) => !s.ok);
  expect(crashed.length).toBeGreaterThan(0);
  for (const s of crashed) expect(s).toMatchObject({ ok: false, error: { name: 'WorkerCrashedError', instanceOfOwnClass: true } });
  r.settled.forEach((s, i) => {
    if (s.ok) expect(s.value).toEqual(r.expected[i % 64]);
  });
  expect(r.again).toEqual(r.expected);
  // The new worker: one reload, then the 64 calls as one batch.
  expect(r.stats).toMatchObject({ messages: 1, batches: 1, images: 64, largest: 64 });
});
