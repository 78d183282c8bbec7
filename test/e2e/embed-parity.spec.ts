/**
 * The Fashion embedder (models/fashion-embed: the Fashion CNN up to its Dense-64) in the browser against
 * PyTorch's penultimate activations, on 100 fixture images: WASM (project `wasm`) and WebGPU (project `webgpu`).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { images } from './fashion.js';
import { expect, registryUrl, test } from './fixtures.js';
import { REPO } from './server.js';

const parity = JSON.parse(readFileSync(path.join(REPO, 'models/fashion-embed/parity.json'), 'utf8')) as { count: number; embeddings: number[][] };

test('fashion-embed in the browser equals PyTorch: embeddings within 1e-4 (WASM) / 1e-3 (WebGPU), normalize gives unit rows', async ({ open, registry }, testInfo) => {
  test.setTimeout(240_000);
  const backend: 'webgpu' | 'wasm' = testInfo.project.name === 'webgpu' ? 'webgpu' : 'wasm';
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, backend, b64, count }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const client = window.webinfer.createClient({ registry, backend, allowSoftwareWebGPU: true });
      const model = await client.load('fashion-embed@stable', { task: 'feature-extraction' });
      const inputs = Array.from({ length: count }, (_, i) => ({ data: bytes.slice(i * 784, (i + 1) * 784), width: 28, height: 28, channels: 1 as const }));
      const before = await client.memory();
      const rows = await model.embed(inputs);
      const unit = await model.embed(inputs.slice(0, 5), { normalize: true });
      const after = await client.memory();
      const out = {
        rows: rows.map((e) => Array.from(e)),
        unit: unit.map((e) => Array.from(e)),
        isF32: rows.every((e) => e instanceof Float32Array),
        backend: (await client.ready()).name,
        tensors: [before.numTensors, after.numTensors],
      };
      await client.dispose();
      return out;
    },
    { registry: registryUrl(registry), backend, b64: images.subarray(0, parity.count * 784).toString('base64'), count: parity.count },
  );
  expect(r.backend).toBe(backend);
  expect(r.isF32).toBe(true);
  expect(r.rows).toHaveLength(parity.count);
  let maxDiff = 0;
  r.rows.forEach((row, i) => {
    expect(row).toHaveLength(64);
    row.forEach((e, c) => (maxDiff = Math.max(maxDiff, Math.abs(e - parity.embeddings[i]![c]!))));
  });
  const note = `${backend}: ${r.rows.length} embeddings, max |Δ| ${maxDiff.toExponential(2)}`;
  testInfo.annotations.push({ type: 'parity', description: note });
  console.log(note);
  expect(maxDiff).toBeLessThan(backend === 'webgpu' ? 1e-3 : 1e-4);
  r.unit.forEach((row, i) => {
    expect(Math.hypot(...row)).toBeCloseTo(1, 5);
    const n = Math.hypot(...parity.embeddings[i]!);
    row.forEach((e, c) => expect(Math.abs(e - parity.embeddings[i]![c]! / n)).toBeLessThan(backend === 'webgpu' ? 1e-3 : 1e-4));
  });
  expect(r.tensors[1]).toBe(r.tensors[0]);
});
