/**
 * The trained Fashion-MNIST CNN in the browser against PyTorch, on the 500-image fixture.
 * Runs in both projects: on WASM in `wasm`, on (software) WebGPU in `webgpu`.
 */
import { accuracy, argmax, classifyAll, expected, images } from './fashion.js';
import { expect, registryUrl, test } from './fixtures.js';

test('fixture sanity: 500 images, PyTorch accuracy on them is recorded', () => {
  expect(images.byteLength).toBe(expected.count * 784);
  expect(expected.count).toBe(500);
  expect(accuracy(expected.probabilities)).toBe(expected.accuracy);
});

test('float32 in the browser equals PyTorch: ≥ 99.5 % same top-1, probabilities within 1e-3, same accuracy', async ({ open, registry }, testInfo) => {
  test.setTimeout(300_000);
  const backend = testInfo.project.name === 'webgpu' ? 'webgpu' : 'wasm';
  const page = await open();
  const r = await classifyAll(page, registryUrl(registry), backend, 'float32');
  expect(r.backend).toBe(backend);
  expect(r.dtype).toBe('float32');
  let same = 0;
  let maxDiff = 0;
  r.probs.forEach((row, i) => {
    if (argmax(row) === expected.predictions[i]) same++;
    row.forEach((p, c) => (maxDiff = Math.max(maxDiff, Math.abs(p - (expected.probabilities[i]![c] as number)))));
  });
  testInfo.annotations.push({ type: 'parity', description: `${backend}: top-1 agreement ${same}/${expected.count}, max |Δp| ${maxDiff.toExponential(2)}, accuracy ${accuracy(r.probs)} (PyTorch ${expected.accuracy})` });
  expect(same / expected.count).toBeGreaterThanOrEqual(0.995);
  expect(maxDiff).toBeLessThan(1e-3);
  expect(accuracy(r.probs)).toBe(expected.accuracy);
});
