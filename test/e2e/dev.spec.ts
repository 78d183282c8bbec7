/**
 * The library from source under the Vite *dev server*: the worker is served as a
 * module worker, and the tfjs WASM binaries come through the `?url` imports in
 * workers/wasm-paths.ts (served from node_modules via /@fs/). The dev server sends
 * COOP/COEP, so WASM threads must be on.
 */
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { createServer, type ViteDevServer } from 'vite';
import { expect, registryUrl, test } from './fixtures.js';
import { pattern, tinyCnnReference } from './reference.js';
import { REPO } from './server.js';

let vite: ViteDevServer;
let base: string;

test.beforeAll(async () => {
  vite = await createServer({
    configFile: false,
    root: path.join(REPO, 'test/e2e/pages'),
    // Own cache, so this never fights the demo dev server's node_modules/.vite.
    cacheDir: path.join(REPO, '.tmp/vite-dev-e2e'),
    logLevel: 'warn',
    clearScreen: false,
    server: {
      host: '127.0.0.1',
      port: 0,
      strictPort: false,
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
      fs: { allow: [REPO] },
      hmr: false,
      warmup: { clientFiles: ['./dev.html', '../../../src/index.ts'] },
    },
    // Pre-bundle everything the page and the worker import up front, so that the first
    // load does not discover a dependency and trigger a re-optimisation (a full reload mid-test).
    optimizeDeps: {
      entries: ['dev.html'],
      include: [
        '@tensorflow/tfjs-core',
        '@tensorflow/tfjs-backend-cpu',
        '@tensorflow/tfjs-backend-wasm',
        '@tensorflow/tfjs-backend-webgpu',
        '@tensorflow/tfjs-converter',
        '@tensorflow/tfjs-layers',
        'comlink',
        'valibot',
      ],
    },
    worker: { format: 'es' },
  });
  await vite.listen();
  const address = vite.httpServer?.address() as AddressInfo | null;
  if (!address || typeof address === 'string') throw new Error('the Vite dev server did not start listening');
  base = `http://127.0.0.1:${address.port}`;
});

test.afterAll(async () => {
  await vite?.close();
});

test('Vite dev server, from source: tiny-cnn classifies on multi-threaded WASM, binaries found', async ({ page, registry }) => {
  // The first load compiles the sources and pre-bundles tfjs.
  test.setTimeout(90_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  const wasm: { url: string; type: string; status: number }[] = [];
  page.context().on('response', (r) => {
    // `…wasm?import&url` are the JS modules of the `?url` imports; the binary itself is fetched without a query.
    if (/\.wasm$/.test(r.url())) wasm.push({ url: r.url(), type: r.headers()['content-type'] ?? '', status: r.status() });
  });
  const reference = await tinyCnnReference(pattern(28, 28, 1), 1);

  await page.goto(`${base}/dev.html`);
  await page.waitForFunction(() => window.harnessReady === true, undefined, { timeout: 60_000 });
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  const r = await page.evaluate(async (registry) => {
    const client = window.webinfer.createClient({ registry, backend: 'wasm' });
    const result = await window.util.attempt(async () => {
      const model = await client.load('tiny-cnn@stable', { task: 'image-classification' });
      return model.classify({ data: window.util.pattern(28, 28, 1), width: 28, height: 28, channels: 1 }, { topK: 10 });
    });
    const backend = client.backend;
    await client.dispose();
    return { result, backend };
  }, registryUrl(registry));

  expect(r.result.ok ? undefined : r.result.error, 'classify() failed under the dev server').toBeUndefined();
  expect(r.backend?.name).toBe('wasm');
  expect(r.backend?.threads).toBe(true);
  const top = r.result.ok ? r.result.value : [];
  const best = reference.reduce((b, s, i) => (s > (reference[b] as number) ? i : b), 0);
  expect(top[0]?.index).toBe(best);
  for (const p of top) expect(Math.abs(p.score - (reference[p.index] as number)), `index ${p.index}`).toBeLessThan(1e-5);

  // The threaded-SIMD binary, straight from node_modules through the dev server.
  // And our engine's binary (the CNN runs on it on WASM), from the sources' workers/engine/wasm/.
  const root = `^${base.replace(/[.:/]/g, '\\$&')}/@fs/`;
  expect(wasm.map((w) => w.url).sort()).toEqual([
    expect.stringMatching(new RegExp(`${root}.*/node_modules/@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd\\.wasm$`)),
    expect.stringMatching(new RegExp(`${root}.*/workers/engine/wasm/engine-(st|mt)(-rx)?\\.wasm$`)),
  ]);
  for (const w of wasm) {
    expect(w.status).toBe(200);
    expect(w.type).toBe('application/wasm');
  }
  expect(errors, 'uncaught errors on the page').toEqual([]);
});
