/**
 * Bad input of every kind gets its own typed error, crosses the worker boundary as
 * our class (name, code, fields), and leaves the client usable.
 */
import { expect, registryUrl, test } from './fixtures.js';

test('bad images, options and references each give their typed error, and the model still works after', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const { createClient } = window.webinfer;
    const client = createClient({ registry, backend: 'wasm' });
    const model = await client.load('tiny-cnn@stable', { task: 'image-classification' });
    const px = (over: Record<string, unknown>) => ({ data: new Uint8Array(784), width: 28, height: 28, channels: 1, ...over });
    const closed = await createImageBitmap(new ImageData(4, 4));
    closed.close();
    const cases: Record<string, () => Promise<unknown>> = {
      null: () => model.classify(null as never),
      number: () => model.classify(42 as never),
      string: () => model.classify('cat.png' as never),
      plainObject: () => model.classify({} as never),
      wrongLength: () => model.classify(px({ data: new Uint8Array(10) }) as never),
      nanPixels: () => model.classify(px({ data: new Float32Array(784).fill(NaN) }) as never),
      infinitePixels: () => model.classify(px({ data: new Float32Array(784).fill(Infinity) }) as never),
      twoChannels: () => model.classify(px({ channels: 2, data: new Uint8Array(1568) }) as never),
      zeroWidth: () => model.classify(px({ width: 0, data: new Uint8Array(0) }) as never),
      fractionalWidth: () => model.classify(px({ width: 27.5 }) as never),
      hugeImage: () => model.classify(px({ width: 100_000, height: 100_000, data: new Uint8Array(1) }) as never),
      int16Array: () => model.classify(px({ data: new Int16Array(784) }) as never),
      emptyBlob: () => model.classify(new Blob([])),
      notAnImageBlob: () => model.classify(new Blob(['hello, not a png'], { type: 'image/png' })),
      closedBitmap: () => model.classify(closed),
      emptyCanvas: () => model.classify(Object.assign(document.createElement('canvas'), { width: 0, height: 0 })),
      brokenImg: async () => {
        const img = new Image();
        img.src = 'data:image/png;base64,AAAA';
        return model.classify(img);
      },
      topKZero: () => model.classify(px({}) as never, { topK: 0 }),
      topKFraction: () => model.classify(px({}) as never, { topK: 1.5 }),
      topKString: () => model.classify(px({}) as never, { topK: '3' as never }),
      unknownModel: () => client.load('no-such-model'),
      unknownVersion: () => client.load('tiny-cnn@9.9.9'),
      unknownAlias: () => client.load('tiny-cnn@canary'),
      badRef: () => client.load('../etc/passwd'),
      badRefType: () => client.load(42 as never),
      badSelector: () => client.load('tiny-cnn@not a version'),
      taskMismatch: () => client.load('not-a-classifier', { task: 'image-classification' }),
      unsupportedTask: () => client.load('not-a-classifier'),
      unknownTask: () => client.load('tiny-cnn', { task: 'detection' as never }),
    };
    const out: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(cases)) out[name] = await window.util.attempt(fn);
    // Still usable after all that.
    const after = await model.classify(px({}) as never, { topK: 2 });
    const mem = await client.memory();
    await client.dispose();
    return { out, after: after.length, tensorsAfter: mem.numTensors };
  }, registryUrl(registry));

  const expectError = (name: string, errorName: string, fields?: Record<string, unknown>): void => {
    const res = r.out[name] as { ok: boolean; error?: { name: string; isWebInferError: boolean; instanceOfOwnClass: boolean; fields: Record<string, unknown> } };
    expect(res.ok, `${name} should fail`).toBe(false);
    expect(res.error?.name, name).toBe(errorName);
    expect(res.error?.isWebInferError, name).toBe(true);
    expect(res.error?.instanceOfOwnClass, `${name} is an instance of ${errorName}`).toBe(true);
    if (fields) expect(res.error?.fields, name).toMatchObject(fields);
  };
  for (const name of ['null', 'number', 'string', 'plainObject', 'closedBitmap', 'emptyCanvas', 'emptyBlob', 'int16Array']) expectError(name, 'InvalidInputError');
  expectError('wrongLength', 'InvalidInputError', { reason: 'bad-length' });
  expectError('nanPixels', 'InvalidInputError', { reason: 'not-finite' });
  expectError('infinitePixels', 'InvalidInputError', { reason: 'not-finite' });
  expectError('twoChannels', 'InvalidInputError', { reason: 'bad-channels' });
  expectError('zeroWidth', 'InvalidInputError', { reason: 'empty-image' });
  expectError('fractionalWidth', 'InvalidInputError', { reason: 'bad-size' });
  expectError('hugeImage', 'InvalidInputError', { reason: 'too-large' });
  expectError('notAnImageBlob', 'InvalidInputError', { reason: 'undecodable' });
  expectError('brokenImg', 'InvalidInputError', { reason: 'undecodable' });
  for (const name of ['topKZero', 'topKFraction', 'topKString']) expectError(name, 'InvalidInputError', { field: 'topK' });
  expectError('unknownModel', 'ModelNotFoundError', { model: 'no-such-model' });
  expectError('unknownVersion', 'ModelNotFoundError', { model: 'tiny-cnn', version: '9.9.9' });
  expectError('unknownAlias', 'ModelNotFoundError', { model: 'tiny-cnn' });
  expectError('badRef', 'InvalidInputError', { field: 'model' });
  expectError('badRefType', 'InvalidInputError', { field: 'model' });
  expectError('badSelector', 'InvalidInputError', { field: 'model' });
  expectError('taskMismatch', 'TaskMismatchError', { model: 'not-a-classifier', expected: 'image-classification', actual: 'text-generation' });
  expectError('unsupportedTask', 'TaskMismatchError', { actual: 'text-generation' });
  expectError('unknownTask', 'InvalidInputError', { field: 'task' });
  expect(r.after).toBe(2);
});

test('a disposed model or client gives ModelDisposedError', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const model = await client.load('tiny-cnn', { task: 'image-classification' });
    await model.dispose();
    const afterModel = await window.util.attempt(() => model.classify({ data: new Uint8Array(784), width: 28, height: 28, channels: 1 }));
    await client.dispose();
    const afterClient = await window.util.attempt(() => client.load('tiny-cnn'));
    return { afterModel, afterClient };
  }, registryUrl(registry));
  expect(r.afterModel).toMatchObject({ ok: false, error: { name: 'ModelDisposedError', code: 'MODEL_DISPOSED' } });
  expect(r.afterClient).toMatchObject({ ok: false, error: { name: 'ModelDisposedError' } });
});

test('bad client options fail at once with InvalidInputError', async ({ open }) => {
  const page = await open();
  const r = await page.evaluate(async () => {
    const { createClient } = window.webinfer;
    const attempt = (fn: () => unknown) => window.util.attempt(async () => fn());
    return {
      noRegistry: await attempt(() => createClient({} as never)),
      badScheme: await attempt(() => createClient({ registry: 'ftp://x' })),
      badBackend: await attempt(() => createClient({ registry: '/r', backend: 'webgl' as never })),
      negativeRetries: await attempt(() => createClient({ registry: '/r', retries: -1 })),
    };
  });
  for (const v of Object.values(r)) expect(v).toMatchObject({ ok: false, error: { name: 'InvalidInputError' } });
});

test('a call with a time limit rejects with TimeoutError instead of hanging', async ({ open, registry }) => {
  const page = await open();
  registry.faults.slowMs = 200;
  registry.faults.slowChunk = 512;
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    await client.ready();
    const t0 = performance.now();
    const res = await window.util.attempt(() => client.load('tiny-cnn', { timeoutMs: 500 }));
    const ms = performance.now() - t0;
    await client.dispose();
    return { res, ms };
  }, registryUrl(registry));
  expect(r.res).toMatchObject({ ok: false, error: { name: 'TimeoutError', code: 'TIMEOUT', fields: { timeoutMs: 500 } } });
  expect(r.ms).toBeLessThan(2000);
});

test('a 64-megapixel image classifies without holding the worker (reduced first, heartbeats answered)', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    // A crash limit far below the ~26 s the full-size pre-processing took.
    const client = window.webinfer.createClient({ registry, backend: 'wasm', unresponsiveTimeoutMs: 4000 });
    const model = await client.load('tiny-cnn@stable', { task: 'image-classification' });
    const canvas = new OffscreenCanvas(8192, 8192);
    const ctx = canvas.getContext('2d')!;
    ctx.fillStyle = '#808080';
    ctx.fillRect(0, 0, 8192, 8192);
    const t0 = performance.now();
    const big = await window.util.attempt(() => model.classify(canvas.transferToImageBitmap(), { topK: 1 }));
    const bigMs = performance.now() - t0;
    // The same picture at the model's size: the same answer.
    const small = await model.classify({ data: new Uint8Array(28 * 28).fill(128), width: 28, height: 28, channels: 1 }, { topK: 1 });
    const pixels = await window.util.attempt(() => model.classify({ data: new Uint8Array(4096 * 4096).fill(128), width: 4096, height: 4096, channels: 1 }, { topK: 1 }));
    await client.dispose();
    return { big, bigMs, small, pixels };
  }, registryUrl(registry));
  expect(r.big).toMatchObject({ ok: true });
  expect(r.pixels).toMatchObject({ ok: true });
  const big = (r.big as { value: Array<{ index: number; score: number }> }).value;
  const px = (r.pixels as { value: Array<{ index: number; score: number }> }).value;
  expect(big[0]!.index).toBe(r.small[0]!.index);
  expect(px[0]!.index).toBe(r.small[0]!.index);
  expect(Math.abs(px[0]!.score - r.small[0]!.score)).toBeLessThan(1e-4);
  expect(r.bigMs).toBeLessThan(20_000);
});
