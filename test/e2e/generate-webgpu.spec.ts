/**
 * Text generation on WebGPU (the `webgpu` project: a software adapter here): the same
 * PyTorch parity vectors as on WASM: first-step logits of every prompt within 1e-2,
 * the greedy 64-token continuation of the first prompt identical (SwiftShader is slow:
 * WASM checks all four), memory flat.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, registryUrl, test } from './fixtures.js';
import { REPO } from './server.js';

interface Parity {
  prompts: Array<{ text: string; ids: number[]; firstLogits: number[]; greedy: number[] }>;
}
const parity = JSON.parse(readFileSync(path.join(REPO, 'models/tiny-gpt/parity.json'), 'utf8')) as Parity;
const config = JSON.parse(readFileSync(path.join(REPO, 'models/tiny-gpt/config.json'), 'utf8')) as { eos_token_id: number };
const expectedGreedy = (g: number[]): number[] => (g.includes(config.eos_token_id) ? g.slice(0, g.indexOf(config.eos_token_id)) : g);

test.setTimeout(300_000);

test('WebGPU matches PyTorch: first-step logits within 1e-2, greedy 64-token continuation identical, no leaked tensors', async ({ open, registry }) => {
  const page = await open();
  const r = await page.evaluate(
    async ({ registry, prompts }) => {
      const client = window.webinfer.createClient({ registry, backend: 'webgpu', debug: true });
      const lm = await client.load('tiny-gpt@stable', { task: 'text-generation' });
      const base = (await client.memory()).numTensors;
      const out = [];
      for (const p of prompts) {
        const logits = await lm.debugLogits(p.ids);
        let maxErr = 0;
        for (let i = 0; i < logits.length; i++) maxErr = Math.max(maxErr, Math.abs((logits[i] as number) - (p.firstLogits[i] as number)));
        // Greedy decoding for the first prompt only: SwiftShader runs each op in software.
        const res = out.length === 0 ? await lm.generateText(p.text, { temperature: 0, maxTokens: 64 }) : undefined;
        out.push({ maxErr, tokens: res?.tokens, backend: res?.backend ?? 'webgpu' });
      }
      const after = (await client.memory()).numTensors;
      await client.dispose();
      return { out, base, after };
    },
    { registry: registryUrl(registry), prompts: parity.prompts },
  );
  r.out.forEach((o, i) => {
    const p = parity.prompts[i]!;
    expect(o.backend).toBe('webgpu');
    expect(o.maxErr, p.text).toBeLessThan(1e-2);
    if (i === 0) expect(o.tokens, p.text).toEqual(expectedGreedy(p.greedy));
  });
  expect(r.after).toBe(r.base);
});
