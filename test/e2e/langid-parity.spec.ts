/**
 * The language identifier (models/langid-lstm: Embedding + LSTM + Dense, a tfjs layers model) in the browser
 * against PyTorch, on its parity fixture (held-out sentences of 9 languages plus pre-processing edge cases):
 * the worker's pre-processing and tfjs's recurrent path on WASM (project `wasm`) and WebGPU (project `webgpu`,
 * a software adapter here). The calls are concurrent, so they also run as micro-batches.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, registryUrl, test } from './fixtures.js';
import { REPO } from './server.js';

const parity = JSON.parse(readFileSync(path.join(REPO, 'models/langid-lstm/parity.json'), 'utf8')) as { labels: string[]; texts: string[]; probabilities: number[][] };

test('langid-lstm in the browser equals PyTorch: probabilities within 1e-4 (WASM) / 1e-3 (WebGPU), same top-1, no leaked tensors', async ({ open, registry }, testInfo) => {
  test.setTimeout(240_000);
  const backend: 'webgpu' | 'wasm' = testInfo.project.name === 'webgpu' ? 'webgpu' : 'wasm';
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, backend, texts, k }) => {
      const client = window.webinfer.createClient({ registry, backend, allowSoftwareWebGPU: true });
      const model = await client.load('langid-lstm@stable', { task: 'text-classification' });
      const before = await client.memory();
      const rows = await Promise.all(
        texts.map(async (t) => {
          const top = await model.classify(t, { topK: k });
          const row = new Array<number>(k).fill(NaN);
          for (const p of top) row[p.index] = p.score;
          return { row, label: top[0]!.label };
        }),
      );
      const after = await client.memory();
      const out = { rows, labels: model.labels, backend: (await client.ready()).name, runtime: model.info.runtime, tensors: [before.numTensors, after.numTensors] };
      await client.dispose();
      return out;
    },
    { registry: registryUrl(registry), backend, texts: parity.texts, k: parity.labels.length },
  );
  expect(r.backend).toBe(backend);
  expect(r.labels).toEqual(parity.labels);
  let maxDiff = 0;
  r.rows.forEach(({ row, label }, i) => {
    const want = parity.probabilities[i]!;
    row.forEach((p, c) => (maxDiff = Math.max(maxDiff, Math.abs(p - want[c]!))));
    expect(label, parity.texts[i]).toBe(parity.labels[want.indexOf(Math.max(...want))]);
  });
  const note = `${backend} (${r.runtime}): ${r.rows.length} texts, max |Δp| ${maxDiff.toExponential(2)}`;
  testInfo.annotations.push({ type: 'parity', description: note });
  console.log(note);
  expect(maxDiff).toBeLessThan(backend === 'webgpu' ? 1e-3 : 1e-4);
  expect(r.tensors[1]).toBe(r.tensors[0]);
});
