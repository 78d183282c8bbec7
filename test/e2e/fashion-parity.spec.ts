/**
 * The trained Fashion-MNIST CNN in the browser against PyTorch, on the 500-image fixture.
 * Runs in both projects, on all 500 images: on WASM in `wasm`, on WebGPU in `webgpu` (a software
 * adapter, SwiftShader, on this machine: about 65 s for the 500 calls on an idle machine).
 */
import { accuracy, argmax, classifyAll, expected, images } from './fashion.js';
import { expect, registryUrl, test } from './fixtures.js';

test('fixture sanity: 500 images, PyTorch accuracy on them is recorded', () => {
  expect(images.byteLength).toBe(expected.count * 784);
  expect(expected.count).toBe(500);
  expect(accuracy(expected.probabilities)).toBe(expected.accuracy);
});

test('float32 in the browser equals PyTorch: ≥ 99.5 % same top-1, probabilities within 1e-3, same accuracy', async ({ open, registry }, testInfo) => {
  test.setTimeout(420_000);
  const backend = testInfo.project.name === 'webgpu' ? 'webgpu' : 'wasm';
  const count = expected.count;
  const page = await open();
  const r = await classifyAll(page, registryUrl(registry), backend, 'float32', count);
  expect(r.probs).toHaveLength(count);
  expect(r.backend).toBe(backend);
  expect(r.dtype).toBe('float32');
  let same = 0;
  let maxDiff = 0;
  r.probs.forEach((row, i) => {
    if (argmax(row) === expected.predictions[i]) same++;
    row.forEach((p, c) => (maxDiff = Math.max(maxDiff, Math.abs(p - (expected.probabilities[i]![c] as number)))));
  });
  const torchAccuracy = accuracy(expected.probabilities.slice(0, count));
  const note = `${backend}: top-1 agreement ${same}/${count}, max |Δp| ${maxDiff.toExponential(2)}, accuracy ${accuracy(r.probs)} (PyTorch ${torchAccuracy})`;
  testInfo.annotations.push({ type: 'parity', description: note });
  console.log(note);
  expect(same / count).toBeGreaterThanOrEqual(0.995);
  expect(maxDiff).toBeLessThan(1e-3);
  expect(accuracy(r.probs)).toBe(torchAccuracy);
});
