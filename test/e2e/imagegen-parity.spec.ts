/**
 * The image generators trained here (models/fashion-vae, models/fashion-dcgan) in the browser against
 * PyTorch, on the parity fixtures their training scripts wrote (seeded latents and test pictures in,
 * PyTorch's outputs): raw generator outputs and VAE encoder means within 1e-4 on WASM, 1e-3 on WebGPU.
 * Runs in both projects: on WASM in `wasm`, on WebGPU (SwiftShader here) in `webgpu`.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, registryUrl, test } from './fixtures.js';
import { REPO } from './server.js';

interface Fixture {
  latentDim: number;
  latents: number[][];
  decoded: number[][];
  images?: number[][];
  encoded?: number[][];
}
const fixture = (id: string): Fixture => JSON.parse(readFileSync(path.join(REPO, 'models', id, 'parity/expected.json'), 'utf8')) as Fixture;

const maxAbs = (a: number[][], b: number[][]): number => {
  let m = 0;
  a.forEach((row, i) => row.forEach((x, j) => (m = Math.max(m, Math.abs(x - (b[i]![j] as number))))));
  return m;
};

for (const id of ['fashion-vae', 'fashion-dcgan'] as const) {
  test(`${id}: outputs in the browser equal PyTorch's (1e-4 on WASM, 1e-3 on WebGPU)`, async ({ open, registry }, testInfo) => {
    test.setTimeout(180_000);
    const backend: 'webgpu' | 'wasm' = testInfo.project.name === 'webgpu' ? 'webgpu' : 'wasm';
    const fx = fixture(id);
    const page = await open();
    const r = await page.evaluate(
      async ({ registry, backend, id, fx }) => {
        const client = window.webinfer.createClient({ registry, backend, allowSoftwareWebGPU: true, debug: true });
        const gen = await client.load(`${id}@stable`, { task: 'image-generation' });
        const raw = await gen.debugRaw(fx.latents);
        const encoded = fx.images ? await Promise.all(fx.images.map((px) => gen.encode({ data: new Uint8Array(px), width: 28, height: 28, channels: 1 }))) : [];
        const out = { backend: gen.info.backend, raw: raw.map((x) => Array.from(x)), encoded: encoded.map((x) => Array.from(x)), generator: gen.generator };
        await client.dispose();
        return out;
      },
      { registry: registryUrl(registry), backend, id, fx },
    );
    expect(r.backend).toBe(backend);
    expect(r.generator.latentDim).toBe(fx.latentDim);
    expect(r.raw).toHaveLength(fx.latents.length);
    expect(r.raw[0]).toHaveLength(784);
    const tol = backend === 'webgpu' ? 1e-3 : 1e-4;
    const dDec = maxAbs(r.raw, fx.decoded);
    let note = `${id} ${backend}: max |Δ| generator ${dDec.toExponential(2)}`;
    if (fx.encoded) {
      expect(r.generator.canEncode).toBe(true);
      const dEnc = maxAbs(r.encoded, fx.encoded);
      note += `, encoder ${dEnc.toExponential(2)}`;
      expect(dEnc).toBeLessThan(tol);
    } else expect(r.generator.canEncode).toBe(false);
    testInfo.annotations.push({ type: 'parity', description: note });
    console.log(note);
    expect(dDec).toBeLessThan(tol);
  });
}
