/**
 * Quantized variants of the Fashion-MNIST CNN (float16, uint8) and the `dtype` load option.
 * WASM project only: tfjs dequantizes every variant to float32 on load, so the backend
 * makes no difference to what is tested here.
 */
import { accuracy, classifyAll } from './fashion.js';
import { expect, registryUrl, test } from './fixtures.js';

test('quantized variants load with dtype, are smaller, and stay accurate on the sample', async ({ open, registry }, testInfo) => {
  test.setTimeout(300_000);
  const page = await open();
  const f32 = await classifyAll(page, registryUrl(registry), 'wasm', 'float32');
  for (const [dtype, ratio, maxShift] of [['float16', 0.5, 0.002], ['uint8', 0.25, 0.01]] as const) {
    const q = await classifyAll(page, registryUrl(registry), 'wasm', dtype);
    expect(q.dtype).toBe(dtype);
    // model JSON + one shard: the weights shrink 2× / 4×, the JSON stays about the same size.
    expect(q.bytes).toBeLessThan(f32.bytes * ratio + 8_000);
    expect(q.bytes).toBeGreaterThan(f32.bytes * ratio - 8_000);
    let maxDiff = 0;
    q.probs.forEach((row, i) => row.forEach((p, c) => (maxDiff = Math.max(maxDiff, Math.abs(p - (f32.probs[i]![c] as number))))));
    testInfo.annotations.push({ type: dtype, description: `accuracy ${accuracy(q.probs)} vs float32 ${accuracy(f32.probs)}, max |Δp| ${maxDiff.toExponential(2)}, ${q.bytes} bytes` });
    expect(maxDiff).toBeGreaterThan(0); // really another variant
    expect(accuracy(q.probs)).toBeGreaterThanOrEqual(accuracy(f32.probs) - maxShift);
  }
});

test('dtype auto picks float16 when the model has it; a missing variant is an InvalidInputError', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const auto = await client.load('fashion-mnist-cnn', { task: 'image-classification' });
    const tinyAuto = await client.load('tiny-cnn', { task: 'image-classification', dtype: 'auto' });
    const missing = await window.util.attempt(() => client.load('tiny-cnn', { dtype: 'uint8' }));
    const bad = await window.util.attempt(() => client.load('tiny-cnn', { dtype: 'int2' as never }));
    const out = { auto: auto.info.dtype, autoReason: auto.info.dtypeReason, tiny: tinyAuto.info.dtype, missing, bad };
    await client.dispose();
    return out;
  }, registryUrl(registry));
  expect(r.auto).toBe('float16');
  expect(r.autoReason).toMatch(/float16 halves the download/);
  expect(r.tiny).toBe('float32');
  expect(r.missing.ok).toBe(false);
  if (!r.missing.ok) {
    expect(r.missing.error.name).toBe('InvalidInputError');
    expect(r.missing.error.fields).toMatchObject({ reason: 'dtype-unavailable', field: 'dtype' });
  }
  expect(r.bad.ok).toBe(false);
  if (!r.bad.ok) expect(r.bad.error.fields).toMatchObject({ reason: 'bad-option', field: 'dtype' });
});
