/**
 * The `image-generation` task end to end (WASM): ImageGenerator on the VAE and the DCGAN trained here —
 * seeded generation, decode, encode, interpolation, micro-batching, typed errors with the worker alive,
 * no leaked tensors, and the generated pictures recognised by the project's Fashion CNN.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, registryUrl, test } from './fixtures.js';
import { REPO } from './server.js';

const vaeFixture = JSON.parse(readFileSync(path.join(REPO, 'models/fashion-vae/parity/expected.json'), 'utf8')) as { images: number[][] };

test('generate: seeded RGBA pictures, the same seed gives the same bytes, decode(latents) remakes them, the Fashion CNN recognises them', async ({ open, registry }) => {
  test.setTimeout(120_000);
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const cnn = await client.load('fashion-mnist-cnn@stable', { task: 'image-classification' });
    const out: Record<string, unknown> = {};
    for (const id of ['fashion-vae', 'fashion-dcgan']) {
      const gen = await client.load(`${id}@stable`, { task: 'image-generation' });
      const a = await gen.generate({ count: 8, seed: 7 });
      const b = await gen.generate({ count: 8, seed: 7 });
      const one = await gen.generate({ count: 1, seed: 7 });
      const other = await gen.generate({ count: 1, seed: 8 });
      const again = await gen.decode(a.latents);
      const unseeded = await gen.generate({ count: 2 });
      const same = (x: Uint8ClampedArray, y: Uint8ClampedArray) => x.length === y.length && x.every((v, i) => v === y[i]);
      const img = a.images[0]!;
      let alphaOk = true;
      let gray = true;
      let min = 255;
      let max = 0;
      for (let p = 0; p < img.data.length; p += 4) {
        if (img.data[p + 3] !== 255) alphaOk = false;
        if (img.data[p] !== img.data[p + 1] || img.data[p] !== img.data[p + 2]) gray = false;
        min = Math.min(min, img.data[p]!);
        max = Math.max(max, img.data[p]!);
      }
      const scores = [];
      for (const im of a.images) scores.push((await cnn.classify(window.webinfer.toImageData(im), { topK: 1 }))[0]!.score);
      const canvas = document.createElement('canvas');
      window.webinfer.drawImage(canvas, img);
      const drawn = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      out[id] = {
        generator: gen.generator,
        count: a.images.length,
        size: [img.width, img.height, img.data.length],
        latent: a.latents[0]!.length,
        seed: a.seed,
        deterministic: a.images.every((im, i) => same(im.data, b.images[i]!.data)),
        prefix: same(one.images[0]!.data, img.data) && one.latents[0]!.every((v, i) => v === a.latents[0]![i]),
        differs: !same(other.images[0]!.data, img.data),
        decodeSame: again.every((im, i) => same(im.data, a.images[i]!.data)),
        unseeded: Number.isInteger(unseeded.seed) && unseeded.images.length === 2,
        alphaOk,
        gray,
        contrast: max - min,
        meanTop1: scores.reduce((s, x) => s + x, 0) / scores.length,
        drawn: same(drawn as unknown as Uint8ClampedArray, img.data) && canvas.width === 28,
      };
    }
    await client.dispose();
    return out;
  }, registryUrl(registry));
  for (const id of ['fashion-vae', 'fashion-dcgan']) {
    const g = r[id] as Record<string, unknown>;
    expect((g['generator'] as { kind: string }).kind).toBe(id === 'fashion-vae' ? 'vae' : 'gan');
    expect(g['count']).toBe(8);
    expect(g['size']).toEqual([28, 28, 28 * 28 * 4]);
    expect(g['latent']).toBe(16);
    expect(g['seed']).toBe(7);
    for (const k of ['deterministic', 'prefix', 'differs', 'decodeSame', 'unseeded', 'alphaOk', 'gray', 'drawn']) expect(g[k], `${id} ${k}`).toBe(true);
    expect(g['contrast'] as number).toBeGreaterThan(100);
    expect(g['meanTop1'] as number).toBeGreaterThan(0.5);
  }
});

test('VAE encode and interpolate: a test picture encodes to a latent that decodes close to it; interpolation runs from one picture to the other', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, images }) => {
      const client = window.webinfer.createClient({ registry, backend: 'wasm' });
      const vae = await client.load('fashion-vae@stable', { task: 'image-generation' });
      const pic = (i: number) => ({ data: new Uint8Array(images[i]!), width: 28, height: 28, channels: 1 as const });
      const za = await vae.encode(pic(0));
      const zb = await vae.encode(pic(1));
      const [rec] = await vae.decode([za]);
      let mse = 0;
      for (let p = 0; p < 784; p++) mse += ((rec!.data[p * 4]! - images[0]![p]!) / 255) ** 2;
      mse /= 784;
      const it = await vae.interpolate(pic(0), pic(1), 5);
      const lin = await vae.interpolate(za, zb, 3, { mode: 'linear' });
      const [first] = await vae.decode([it.latents[0]!]);
      const mid = lin.latents[1]!.every((v, i) => Math.abs(v - (za[i]! + zb[i]!) / 2) < 1e-6);
      const same = (x: Uint8ClampedArray, y: Uint8ClampedArray) => x.every((v, i) => v === y[i]);
      const out = {
        dim: za.length,
        mse,
        steps: it.images.length,
        ends: it.latents[0]!.every((v, i) => Math.abs(v - za[i]!) < 1e-5) && it.latents[4]!.every((v, i) => Math.abs(v - zb[i]!) < 1e-5),
        firstIsRec: same(first!.data, rec!.data),
        mid,
      };
      await client.dispose();
      return out;
    },
    { registry: registryUrl(registry), images: vaeFixture.images },
  );
  expect(r.dim).toBe(16);
  expect(r.mse).toBeLessThan(0.03);
  expect(r.steps).toBe(5);
  expect(r.ends).toBe(true);
  expect(r.firstIsRec).toBe(true);
  expect(r.mid).toBe(true);
});

test('concurrent generate and decode calls run as one batch in the worker, each with its own result', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm', debug: true });
    const gen = await client.load('fashion-dcgan@stable', { task: 'image-generation' });
    const alone = await Promise.all([1, 2, 3, 4].map(async (s) => (await gen.generate({ count: 2, seed: s })).images));
    const before = (await client.debug.batchStats())!;
    const together = await Promise.all([1, 2, 3, 4].map((s) => gen.generate({ count: 2, seed: s })));
    const after = (await client.debug.batchStats())!;
    const same = together.every((t, i) => t.images.every((im, j) => im.data.every((v, k) => v === alone[i]![j]!.data[k])));
    await client.dispose();
    return { runs: after.batches - before.batches, messages: after.messages - before.messages, same };
  }, registryUrl(registry));
  expect(r.same).toBe(true);
  expect(r.messages).toBe(1);
  expect(r.runs).toBe(1);
});

test('bad input fails with InvalidInputError (reason, field), the worker stays alive, and no tensor leaks', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const vae = await client.load('fashion-vae@stable', { task: 'image-generation' });
    const gan = await client.load('fashion-dcgan@stable', { task: 'image-generation' });
    await gan.generate({ count: 4, seed: 1 });
    const warm = await client.memory();
    const u = window.util;
    const errors = {
      count0: await u.attempt(() => gan.generate({ count: 0 })),
      count65: await u.attempt(() => gan.generate({ count: 65 })),
      countFloat: await u.attempt(() => gan.generate({ count: 1.5 })),
      seedFloat: await u.attempt(() => gan.generate({ seed: 0.5 })),
      seedNegative: await u.attempt(() => gan.generate({ seed: -1 })),
      seedString: await u.attempt(() => gan.generate({ seed: '3' as never })),
      latentSize: await u.attempt(() => gan.decode([new Float32Array(15)])),
      latentNaN: await u.attempt(() => gan.decode([new Float32Array(16).fill(NaN)])),
      noLatents: await u.attempt(() => gan.decode([])),
      ganEncode: await u.attempt(() => gan.encode({ data: new Uint8Array(784), width: 28, height: 28, channels: 1 })),
      ganInterpolateImages: await u.attempt(() => gan.interpolate({ data: new Uint8Array(784), width: 28, height: 28, channels: 1 }, new Float32Array(16), 4)),
      badImage: await u.attempt(() => vae.encode(42 as never)),
      badPixels: await u.attempt(() => vae.encode({ data: new Uint8Array(10), width: 28, height: 28, channels: 1 })),
      badSteps: await u.attempt(() => vae.interpolate(new Float32Array(16), new Float32Array(16), 1)),
      wrongTask: await u.attempt(() => client.load('fashion-vae@stable', { task: 'image-classification' })),
    };
    const still = await gan.generate({ count: 2, seed: 1 });
    const z = await vae.encode({ data: new Uint8Array(784).fill(128), width: 28, height: 28, channels: 1 });
    await vae.interpolate(z, new Float32Array(16), 3);
    const mem = await client.memory();
    await client.dispose();
    return { errors, alive: still.images.length === 2, tensorsBefore: warm.numTensors, tensorsAfter: mem.numTensors };
  }, registryUrl(registry));
  const expectInvalid = (name: keyof typeof r.errors, reason: string, field: string) => {
    const o = r.errors[name];
    expect(o.ok, name).toBe(false);
    if (o.ok) return;
    expect(o.error.name, name).toBe('InvalidInputError');
    expect(o.error.fields, name).toMatchObject({ reason, field });
  };
  expectInvalid('count0', 'bad-count', 'count');
  expectInvalid('count65', 'bad-count', 'count');
  expectInvalid('countFloat', 'bad-count', 'count');
  expectInvalid('seedFloat', 'bad-seed', 'seed');
  expectInvalid('seedNegative', 'bad-seed', 'seed');
  expectInvalid('seedString', 'bad-seed', 'seed');
  expectInvalid('latentSize', 'bad-latent-size', 'latents[0]');
  expectInvalid('latentNaN', 'not-finite', 'latents[0]');
  expectInvalid('noLatents', 'bad-latents', 'latents');
  expectInvalid('ganEncode', 'no-encoder', 'image');
  expectInvalid('ganInterpolateImages', 'no-encoder', 'image');
  expectInvalid('badImage', 'unsupported-type', 'image');
  expectInvalid('badPixels', 'bad-length', 'data');
  expectInvalid('badSteps', 'bad-steps', 'steps');
  expect(r.errors.wrongTask.ok).toBe(false);
  if (!r.errors.wrongTask.ok) expect(r.errors.wrongTask.error.name).toBe('TaskMismatchError');
  expect(r.alive).toBe(true);
  expect(r.tensorsAfter).toBe(r.tensorsBefore);
});
