/**
 * The text-classification and feature-extraction handles in the browser (WASM): results, micro-batching,
 * every kind of bad input as its typed error (the worker stays alive), no leaked tensors.
 */
import { expect, registryUrl, test } from './fixtures.js';

type Attempt = { ok: boolean; value?: unknown; error?: { name: string; isWebInferError: boolean; instanceOfOwnClass: boolean; fields: Record<string, unknown> } };

test('TextClassifier: languages of sentences, topK, concurrent calls run as batches, bad input gives typed errors, worker alive', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true });
    const model = await client.load('langid-lstm@stable', { task: 'text-classification' });
    const sentences: Record<string, string> = {
      en: 'The weather was so nice that we walked all the way home.',
      de: 'Wir haben gestern den ganzen Abend über das Wetter gesprochen.',
      es: 'Mañana vamos a la playa con nuestros amigos de la universidad.',
      it: 'Non ho mai capito perché la gente ha paura del buio.',
      pt: 'Não sei se você vai gostar, mas eu acho que vale a pena.',
      pl: 'Nie wiem, dlaczego wszyscy mówią, że to jest bardzo trudne.',
      cs: 'Včera jsme byli v kině a ten film se nám moc líbil.',
      ru: 'Вчера мы долго гуляли по городу и разговаривали о жизни.',
      eo: 'La vivo estas bela, se oni havas bonajn amikojn kaj sanon.',
    };
    const top1: Record<string, string> = {};
    for (const [lang, s] of Object.entries(sentences)) top1[lang] = (await model.classify(s, { topK: 1 }))[0]!.label;
    const all = await model.classify(sentences.de!, { topK: 100 });
    const dflt = await model.classify(sentences.de!);
    const warm = await client.memory();
    const s0 = (await client.debug.batchStats())!;
    const many = await Promise.all(Array.from({ length: 48 }, (_, i) => model.classify(`${Object.values(sentences)[i % 9]} ${i}`, { topK: 1 })));
    const s1 = (await client.debug.batchStats())!;
    const mem = await client.memory();
    const cases: Record<string, () => Promise<unknown>> = {
      number: () => model.classify(42 as never),
      nullText: () => model.classify(null as never),
      array: () => model.classify(['hello'] as never),
      empty: () => model.classify(''),
      blank: () => model.classify('  \n\t '),
      huge: () => model.classify('a'.repeat(10_001)),
      topKZero: () => model.classify('hello world', { topK: 0 }),
      topKFraction: () => model.classify('hello world', { topK: 2.5 }),
      topKString: () => model.classify('hello world', { topK: '2' as never }),
    };
    const out: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(cases)) out[name] = await window.util.attempt(fn);
    const atLimit = await model.classify(`${sentences.pl!} `.repeat(200).slice(0, 10_000), { topK: 1 });
    const after = await model.classify(sentences.ru!, { topK: 1 });
    await client.dispose();
    return {
      top1,
      all: all.length,
      sum: all.reduce((a, p) => a + p.score, 0),
      sorted: all.every((p, i) => i === 0 || p.score <= all[i - 1]!.score),
      dflt: dflt.length,
      labels: model.labels,
      many: many.map((m) => m[0]!.label),
      batches: s1.batches - s0.batches,
      largest: s1.largest,
      tensors: [warm.numTensors, mem.numTensors],
      out,
      atLimit: atLimit[0]!.label,
      after: after[0]!.label,
    };
  }, registryUrl(registry));
  expect(r.labels).toEqual(['en', 'de', 'es', 'it', 'pt', 'pl', 'cs', 'ru', 'eo']);
  expect(r.top1).toEqual({ en: 'en', de: 'de', es: 'es', it: 'it', pt: 'pt', pl: 'pl', cs: 'cs', ru: 'ru', eo: 'eo' });
  expect(r.all).toBe(9);
  expect(r.sum).toBeCloseTo(1, 5);
  expect(r.sorted).toBe(true);
  expect(r.dflt).toBe(5);
  expect(r.many).toEqual(Array.from({ length: 48 }, (_, i) => ['en', 'de', 'es', 'it', 'pt', 'pl', 'cs', 'ru', 'eo'][i % 9]));
  expect(r.batches).toBeLessThan(48);
  expect(r.largest).toBeGreaterThan(1);
  expect(r.tensors[1]).toBe(r.tensors[0]);
  const expectError = (name: string, fields: Record<string, unknown>): void => {
    const res = r.out[name] as Attempt;
    expect(res.ok, `${name} should fail`).toBe(false);
    expect(res.error?.name, name).toBe('InvalidInputError');
    expect(res.error?.instanceOfOwnClass, name).toBe(true);
    expect(res.error?.fields, name).toMatchObject(fields);
  };
  for (const name of ['number', 'nullText', 'array']) expectError(name, { reason: 'bad-type', field: 'text' });
  expectError('empty', { reason: 'empty-text', field: 'text' });
  expectError('blank', { reason: 'empty-text', field: 'text' });
  expectError('huge', { reason: 'too-long', field: 'text' });
  for (const name of ['topKZero', 'topKFraction', 'topKString']) expectError(name, { reason: 'bad-topk', field: 'topK' });
  expect(r.atLimit).toBe('pl');
  expect(r.after).toBe('ru');
});

test('Embedder: one Float32Array row per image of any input type, bad input gives typed errors, worker alive', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true });
    const model = await client.load('fashion-embed@stable', { task: 'feature-extraction' });
    const inputs = (await window.util.allInputs(28, 28)) as Record<string, never> & { raw: { data: Uint8ClampedArray; width: number; height: number; channels: 4 } };
    const kinds = Object.keys(inputs);
    const rows = await model.embed(kinds.map((k) => inputs[k] as never), { normalize: true });
    const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i]!, 0);
    const warm = await client.memory();
    const cases: Record<string, () => Promise<unknown>> = {
      notArray: () => model.embed(inputs.raw as never),
      emptyArray: () => model.embed([]),
      number: () => model.embed([42 as never]),
      string: () => model.embed(['cat.png' as never]),
      wrongLength: () => model.embed([{ data: new Uint8Array(10), width: 28, height: 28, channels: 1 }]),
      nanPixels: () => model.embed([{ data: new Float32Array(784).fill(NaN), width: 28, height: 28, channels: 1 }]),
      notAnImageBlob: () => model.embed([new Blob(['not a png'], { type: 'image/png' })]),
      oneBadAmongGood: () => model.embed([inputs.raw, { data: new Uint8Array(3), width: 28, height: 28, channels: 1 }]),
      normalizeString: () => model.embed([inputs.raw], { normalize: 'yes' as never }),
    };
    const out: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(cases)) out[name] = await window.util.attempt(fn);
    const after = await model.embed([inputs.raw]);
    const mem = await client.memory();
    await client.dispose();
    return {
      n: rows.length,
      kinds: kinds.length,
      dims: rows.map((e) => e.length),
      f32: rows.every((e) => e instanceof Float32Array),
      sims: rows.map((e) => dot(e, rows[0]!)),
      info: { task: model.info.task, dtype: model.info.dtype },
      out,
      after: after[0]!.length,
      tensors: [warm.numTensors, mem.numTensors],
    };
  }, registryUrl(registry));
  expect(r.n).toBe(r.kinds);
  expect(r.dims.every((d) => d === 64)).toBe(true);
  expect(r.f32).toBe(true);
  // The same picture in every input type: the same embedding (decoding differs by at most rounding).
  for (const s of r.sims) expect(s).toBeGreaterThan(0.999);
  expect(r.info).toEqual({ task: 'feature-extraction', dtype: 'float32' });
  const expectError = (name: string, fields?: Record<string, unknown>): void => {
    const res = r.out[name] as Attempt;
    expect(res.ok, `${name} should fail`).toBe(false);
    expect(res.error?.name, name).toBe('InvalidInputError');
    expect(res.error?.instanceOfOwnClass, name).toBe(true);
    if (fields) expect(res.error?.fields, name).toMatchObject(fields);
  };
  expectError('notArray', { reason: 'not-an-array', field: 'inputs' });
  expectError('emptyArray', { reason: 'empty', field: 'inputs' });
  expectError('number', { reason: 'unsupported-type' });
  expectError('string', { reason: 'unsupported-type' });
  expectError('wrongLength', { reason: 'bad-length' });
  expectError('nanPixels', { reason: 'not-finite' });
  expectError('notAnImageBlob', { reason: 'undecodable' });
  expectError('oneBadAmongGood', { reason: 'bad-length' });
  expectError('normalizeString', { reason: 'bad-option', field: 'normalize' });
  expect(r.after).toBe(64);
  expect(r.tensors[1]).toBe(r.tensors[0]);
});
