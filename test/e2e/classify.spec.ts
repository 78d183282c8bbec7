import { expect, registryUrl, test } from './fixtures.js';
import { pattern, tinyCnnReference } from './reference.js';

test.describe('classify on WASM (browser without WebGPU)', () => {
  test('tiny-cnn: top-k labels and scores equal plain tfjs in Node', async ({ open, registry }) => {
    const page = await open();
    const reference = await tinyCnnReference(pattern(28, 28, 1), 1);
    const result = await page.evaluate(async (registry) => {
      const { createClient } = window.webinfer;
      const client = createClient({ registry, backend: 'wasm' });
      const model = await client.load('tiny-cnn@stable', { task: 'image-classification' });
      const top = await model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 10 });
      const info = { ...model.info };
      const backend = client.backend;
      await client.dispose();
      return { top, info, backend };
    }, registryUrl(registry));
    expect(result.backend?.name).toBe('wasm');
    expect(result.info.id).toBe('tiny-cnn');
    expect(result.info.version).toBe('1.0.0');
    expect(result.top).toHaveLength(10);
    const order = reference.map((s, i) => ({ s, i })).sort((a, b) => b.s - a.s || a.i - b.i);
    expect(result.top.map((p) => p.index)).toEqual(order.map((o) => o.i));
    for (const p of result.top) {
      expect(Math.abs(p.score - (reference[p.index] as number))).toBeLessThan(1e-5);
      expect(p.label).toBe(result.info.labels[p.index]);
    }
  });
});
